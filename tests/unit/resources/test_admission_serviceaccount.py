"""The ServiceAccount admission plugin against a fake resource layer (no store, no event loop waits)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.admission_plugins import CREATE, UPDATE, Attributes
from boxk8s.resources.admission_serviceaccount import ServiceAccountAdmission, unmountable_secret

PODS = registry.find("", "v1", "pods")
assert PODS is not None


class Accounts:
    """A resource layer holding some ServiceAccounts; `appear_after` makes one show up after N gets."""

    def __init__(self, accounts: dict[str, dict[str, Any]], appear_after: dict[str, int] | None = None) -> None:
        self.accounts = accounts
        self.appear_after = appear_after or {}
        self.gets = 0
        self.store: Any = self
        self.revision: int | None = None  # what the store says of an account's head (None: ask it)

    def head_revision(self, key: str) -> int | None:
        return self.revision

    async def get(self, rt: Any, namespace: str | None, name: str) -> dict[str, Any]:
        self.gets += 1
        if name in self.appear_after and self.gets > self.appear_after[name]:
            return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"}}
        if name not in self.accounts:
            raise errors.not_found("", "serviceaccounts", name)
        return self.accounts[name]

    async def list(self, rt: Any, namespace: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        raise AssertionError("not used")

    async def update(self, *args: Any, **kw: Any) -> dict[str, Any]:
        raise AssertionError("not used")


def account(name: str, **fields: Any) -> dict[str, Any]:
    md = {"name": name, "namespace": "ns", "resourceVersion": "1", **fields.pop("metadata", {})}
    return {"metadata": md, **fields}


def pod_attrs(spec: dict[str, Any] | None = None, name: str = "p", op: str = CREATE) -> Attributes:
    md = {"name": name} if name else {"generateName": "web-"}
    obj = {"metadata": md, "spec": spec if spec is not None else {"containers": [{"name": "c"}]}}
    return Attributes(op, PODS, "ns", obj)


async def no_sleep(_: float) -> None:
    return None


def plugin() -> ServiceAccountAdmission:
    return ServiceAccountAdmission(interval=lambda: 0.15, sleep=no_sleep)


async def test_pod_without_an_account_gets_default() -> None:
    attrs = pod_attrs()
    api = Accounts({"default": account("default")})
    await plugin().admit(attrs, api)
    await plugin().validate(attrs, api)
    assert attrs.obj["spec"]["serviceAccountName"] == "default"


async def test_missing_account_is_refused_with_the_apiservers_message() -> None:
    attrs = pod_attrs({"serviceAccountName": "robot", "containers": []})
    api = Accounts({"default": account("default")})
    with pytest.raises(errors.Forbidden) as e:
        await plugin().admit(attrs, api)
    assert e.value.message == ('pods "p" is forbidden: error looking up service account ns/robot: '
                               'serviceaccount "robot" not found')
    assert api.gets == 1  # only `default` is looked up again


async def test_refused_before_a_name_is_generated_names_the_prefix() -> None:
    attrs = pod_attrs({"serviceAccountName": "robot"}, name="")
    with pytest.raises(errors.Forbidden) as e:
        await plugin().admit(attrs, Accounts({}))
    assert e.value.message.startswith('pods "web-" is forbidden: error looking up service account ns/robot')


@pytest.mark.parametrize(("appears_after", "admitted", "gets"), [
    (0, True, 1),
    (3, True, 4),  # the controller made it while the plugin waited
    (9, True, 10),
    (10, False, 10),  # ten looks, then refused
])
async def test_default_is_looked_up_ten_times(appears_after: int, admitted: bool, gets: int) -> None:
    api = Accounts({}, appear_after={"default": appears_after})
    attrs = pod_attrs()
    if admitted:
        await plugin().admit(attrs, api)
    else:
        with pytest.raises(errors.Forbidden, match='serviceaccount "default" not found'):
            await plugin().admit(attrs, api)
    assert api.gets == gets


async def test_image_pull_secrets_come_from_the_account_unless_the_pod_names_some() -> None:
    api = Accounts({"default": account("default", imagePullSecrets=[{"name": "regcred"}])})
    attrs = pod_attrs()
    await plugin().admit(attrs, api)
    assert attrs.obj["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    own = pod_attrs({"imagePullSecrets": [{"name": "mine"}], "containers": []})
    await plugin().admit(own, api)
    assert own.obj["spec"]["imagePullSecrets"] == [{"name": "mine"}]


def test_handles_pod_creates_only() -> None:
    p = plugin()
    assert p.handles(pod_attrs())
    assert not p.handles(pod_attrs(op=UPDATE))
    status = pod_attrs()
    status.subresource = "status"
    assert not p.handles(status)
    cm = registry.find("", "v1", "configmaps")
    assert cm is not None and not p.handles(Attributes(CREATE, cm, "ns", {"metadata": {"name": "x"}}))


async def test_enforced_mountable_secrets() -> None:
    sa = account("default", metadata={"annotations": {"kubernetes.io/enforce-mountable-secrets": "true"}},
                 secrets=[{"name": "ok"}])
    attrs = pod_attrs({"serviceAccountName": "default", "volumes": [{"name": "v", "secret": {"secretName": "no"}}]})
    with pytest.raises(errors.Forbidden) as e:
        await plugin().validate(attrs, Accounts({"default": sa}))
    assert e.value.message == ('pods "p" is forbidden: volume with secret.secretName="no" is not allowed '
                               "because service account default does not reference that secret")


@pytest.mark.parametrize(("spec", "problem"), [
    ({"volumes": [{"name": "v", "secret": {"secretName": "ok"}}]}, ""),
    ({"containers": [{"name": "c", "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "no", "key": "k"}}}]}]},
     'container c with envVar E referencing secret.secretName="no" is not allowed because service account sa '
     "does not reference that secret"),
    ({"initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "no"}}]}]},
     'init container i with envFrom referencing secret.secretName="no" is not allowed because service account sa '
     "does not reference that secret"),
    ({"imagePullSecrets": [{"name": "pull"}]}, ""),
    ({"imagePullSecrets": [{"name": "other"}]},
     'imagePullSecrets[0].name="other" is not allowed because service account sa does not reference that '
     "imagePullSecret"),
])
def test_unmountable_secret(spec: dict[str, Any], problem: str) -> None:
    sa = account("sa", secrets=[{"name": "ok"}], imagePullSecrets=[{"name": "pull"}])
    assert unmountable_secret(sa, spec) == problem


async def test_an_unchanged_account_is_not_read_again() -> None:
    api = Accounts({"default": account("default", metadata={"resourceVersion": "5"})})
    p = plugin()
    await p.admit(pod_attrs(), api)
    api.revision = 5
    await p.admit(pod_attrs(), api)
    assert api.gets == 1
    api.revision = 6  # changed since: read again
    await p.admit(pod_attrs(), api)
    assert api.gets == 2
