"""What authentication and authorization read, from the shared informers (never a store read per
request): the RBAC policy, rebuilt when one of its objects changes, and the objects ServiceAccount
tokens are bound to (as the apiserver's authenticator reads them from its listers)."""

from __future__ import annotations

import asyncio
from typing import Any

from boxk8s.api.auth.rbac import Policy, build_policy
from boxk8s.client import Informer, InformerFactory
from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
SYNC_SECONDS = 30.0  # a request arriving before the caches filled waits this long at most


def _rt(group: str, plural: str) -> ResourceType:
    rt = registry.find(group, "v1", plural)
    assert rt is not None, plural
    return rt


async def _synced(informers: list[Informer]) -> None:
    pending = [i.synced.wait() for i in informers if not i.synced.is_set()]
    if pending:
        async with asyncio.timeout(SYNC_SECONDS):
            await asyncio.gather(*pending)


class PolicyCache:
    """The RBAC `Policy` of the stored Roles, ClusterRoles and bindings; rebuilt lazily, on the
    first decision after any of them changed."""

    def __init__(self, factory: InformerFactory) -> None:
        self.roles = factory.informer(_rt(RBAC_GROUP, "roles"))
        self.cluster_roles = factory.informer(_rt(RBAC_GROUP, "clusterroles"))
        self.role_bindings = factory.informer(_rt(RBAC_GROUP, "rolebindings"))
        self.cluster_role_bindings = factory.informer(_rt(RBAC_GROUP, "clusterrolebindings"))
        self._informers = [self.roles, self.cluster_roles, self.role_bindings, self.cluster_role_bindings]
        self._policy: Policy | None = None
        for informer in self._informers:
            informer.add_handler(self._changed)

    def _changed(self, _kind: str, _old: Obj | None, _new: Obj | None) -> None:
        self._policy = None

    @property
    def synced(self) -> bool:
        return all(i.synced.is_set() for i in self._informers)

    async def wait_synced(self) -> None:
        await _synced(self._informers)

    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = build_policy(roles=self.roles.list(), cluster_roles=self.cluster_roles.list(),
                                        role_bindings=self.role_bindings.list(),
                                        cluster_role_bindings=self.cluster_role_bindings.list())
        return self._policy


class BoundObjects:
    """serviceaccount_token.Lookup over the informers: accounts, pods, secrets and nodes."""

    def __init__(self, factory: InformerFactory) -> None:
        self.accounts = factory.informer(_rt("", "serviceaccounts"))
        self.pods = factory.informer(_rt("", "pods"))
        self.secrets = factory.informer(_rt("", "secrets"))
        self.nodes = factory.informer(_rt("", "nodes"))
        self._informers = [self.accounts, self.pods, self.secrets, self.nodes]

    async def wait_synced(self) -> None:
        await _synced(self._informers)

    def service_account(self, namespace: str, name: str) -> Obj | None:
        return self.accounts.get(f"{namespace}/{name}")

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self.pods.get(f"{namespace}/{name}")

    def secret(self, namespace: str, name: str) -> Obj | None:
        return self.secrets.get(f"{namespace}/{name}")

    def node(self, name: str) -> Obj | None:
        return self.nodes.get(name)
