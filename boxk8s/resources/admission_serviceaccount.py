"""The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount/admission.go), on pod creates.

Admit: a pod naming no service account gets `default`; the account must exist, and its
imagePullSecrets are copied to a pod that names none. Validate: the account must exist (and,
under its `kubernetes.io/enforce-mountable-secrets` annotation, the pod may use only the secrets
it lists). A pod whose account does not exist is refused:
`pods "p" is forbidden: error looking up service account ns/sa: serviceaccount "sa" not found`.

The `default` account is created by the ServiceAccount controller a moment after its namespace,
so, as upstream's getServiceAccount, a missing `default` is looked up again ten times 100-200 ms
apart before the pod is refused. Admit also mounts the account's token (serviceaccount_volume.py),
unless the pod or the account says `automountServiceAccountToken: false`.
Mirror pods do not exist in boxk8s (no static pods), so their rules are left out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.admission_plugins import CREATE, Attributes, ResourceAccess, forbidden
from boxk8s.resources.serviceaccount_volume import mount_service_account_token, should_automount

Obj = dict[str, Any]

DEFAULT_SERVICE_ACCOUNT = "default"
ENFORCE_MOUNTABLE_SECRETS = "kubernetes.io/enforce-mountable-secrets"
DEFAULT_ATTEMPTS = 10  # getServiceAccount's numAttempts for `default`


def _retry_interval() -> float:
    return random.uniform(0.1, 0.2)  # rand.Int63n(100)+100 ms


class ServiceAccountAdmission:
    name = "ServiceAccount"

    def __init__(self, *, interval: Callable[[], float] = _retry_interval,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = interval
        self.sleep = sleep
        self.rt = registry.find("", "v1", "serviceaccounts")
        # key -> (revision, account): a pod create looks its account up without decoding it again
        # while the account is unchanged (upstream's plugin reads an informer's cache).
        self._accounts: dict[str, tuple[int, Obj]] = {}

    def handles(self, attrs: Attributes) -> bool:
        return (attrs.operation == CREATE and not attrs.subresource and attrs.rt.group == ""
                and attrs.rt.plural == "pods")

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        spec = attrs.obj.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
        account = await self._account(attrs, api, spec["serviceAccountName"])
        if should_automount(account, attrs.obj):
            mount_service_account_token(attrs.obj)
            spec = attrs.obj["spec"]
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name", "")} for s in account["imagePullSecrets"]]

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        spec = attrs.obj.get("spec") or {}
        name = spec.get("serviceAccountName")
        if not name:
            raise forbidden(attrs, f"no service account specified for pod {attrs.namespace}/{attrs.name}")
        account = await self._account(attrs, api, name)
        if _enforces_mountable_secrets(account):
            problem = unmountable_secret(account, spec)
            if problem:
                raise forbidden(attrs, problem)

    async def _account(self, attrs: Attributes, api: ResourceAccess, name: str) -> Obj:
        assert self.rt is not None
        found = attrs.memo.get(self.name)
        if found is not None and found["metadata"]["name"] == name:
            return found  # admit's look, for validate
        attempts = DEFAULT_ATTEMPTS if name == DEFAULT_SERVICE_ACCOUNT else 1
        key = self.rt.key(attrs.namespace, name)
        for attempt in range(attempts):
            if attempt:
                await self.sleep(self.interval())
            revision = api.store.head_revision(key)
            cached = self._accounts.get(key)
            if revision is not None and cached is not None and cached[0] == revision:
                attrs.memo[self.name] = cached[1]
                return cached[1]
            try:
                account = attrs.memo[self.name] = await api.get(self.rt, attrs.namespace, name)
            except errors.NotFound:
                continue
            if len(self._accounts) > 4096:
                self._accounts.clear()
            self._accounts[key] = (int(account["metadata"]["resourceVersion"]), account)
            return account
        raise forbidden(attrs, f"error looking up service account {attrs.namespace}/{name}: "
                               f'serviceaccount "{name}" not found')


def _enforces_mountable_secrets(account: Obj) -> bool:
    value = ((account.get("metadata") or {}).get("annotations") or {}).get(ENFORCE_MOUNTABLE_SECRETS, "")
    return value in ("1", "t", "T", "TRUE", "true", "True")  # strconv.ParseBool's true values


def unmountable_secret(account: Obj, spec: Obj) -> str:
    """limitSecretReferences: the first secret the pod uses that the account does not list ("" if none)."""
    mountable = {s.get("name") for s in account.get("secrets") or []}
    sa = account["metadata"]["name"]
    for volume in spec.get("volumes") or []:
        secret = (volume.get("secret") or {}).get("secretName")
        if volume.get("secret") is not None and secret not in mountable:
            return (f'volume with secret.secretName="{secret}" is not allowed because service account {sa} '
                    "does not reference that secret")
    for field, what in (("initContainers", "init container"), ("containers", "container")):
        for c in spec.get(field) or []:
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref is not None and ref.get("name") not in mountable:
                    return (f'{what} {c.get("name")} with envVar {env.get("name")} referencing '
                            f'secret.secretName="{ref.get("name")}" is not allowed because service account {sa} '
                            "does not reference that secret")
            for source in c.get("envFrom") or []:
                ref = source.get("secretRef")
                if ref is not None and ref.get("name") not in mountable:
                    return (f'{what} {c.get("name")} with envFrom referencing secret.secretName="{ref.get("name")}" '
                            f"is not allowed because service account {sa} does not reference that secret")
    pull = {s.get("name") for s in account.get("imagePullSecrets") or []}
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        if ref.get("name") not in pull:
            return (f'imagePullSecrets[{i}].name="{ref.get("name")}" is not allowed because service account {sa} '
                    "does not reference that imagePullSecret")
    return ""
