"""The ServiceAccount controller: a `default` ServiceAccount in every active namespace.

Upstream's pkg/controller/serviceaccount/serviceaccounts_controller.go: namespaces added or
updated, and ensured accounts deleted, queue their namespace; syncNamespace creates what is
missing in a namespace whose phase is Active (a terminating one refuses new content anyway).
Since 1.24 no token Secret comes with the account. The ServiceAccount admission plugin refuses
pods whose account does not exist, so pods wait (briefly) for this controller.
"""

from __future__ import annotations

import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.controllers.base import Controller
from boxk8s.events import EventRecorder

log = logging.getLogger(__name__)

Obj = dict[str, Any]

ENSURED = ("default",)  # serviceAccountsToEnsure


def plan_service_accounts(namespace: Obj | None, existing: set[str], ensured: tuple[str, ...] = ENSURED) -> list[str]:
    """syncNamespace's decision: the accounts to create (none in a namespace gone or not Active)."""
    if namespace is None or (namespace.get("status") or {}).get("phase") != "Active":
        return []
    if namespace["metadata"].get("deletionTimestamp"):
        return []
    return [name for name in ensured if name not in existing]


class ServiceAccountsController(Controller):
    name = "service-account-controller"
    workers = 2

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.NAMESPACE and Kind.SERVICEACCOUNT
        self.namespaces = factory.informer(Kind.NAMESPACE)
        self.accounts = factory.informer(Kind.SERVICEACCOUNT)
        self.namespaces.add_handler(self._on_namespace)
        self.accounts.add_handler(self._on_account)

    def _on_namespace(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if new is not None:
            self.queue.add(new["metadata"]["name"])

    def _on_account(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if kind == "DELETED" and old is not None and old["metadata"]["name"] in ENSURED:
            self.queue.add(old["metadata"]["namespace"])

    async def reconcile(self, key: str) -> float | None:
        assert Kind.SERVICEACCOUNT
        existing = {name for name in ENSURED if self.accounts.get(f"{key}/{name}") is not None}
        for name in plan_service_accounts(self.namespaces.get(key), existing):
            try:
                await self.client.create(Kind.SERVICEACCOUNT, key, {
                    "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": key}})
            except (errors.AlreadyExists, errors.NotFound):
                pass  # made meanwhile; or the namespace went
            except errors.Forbidden as e:  # the namespace is terminating: nothing to ensure there
                log.debug("serviceaccounts/%s/%s: not created: %s", key, name, e.message)
        return None
