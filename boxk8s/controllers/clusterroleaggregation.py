"""The ClusterRole aggregation controller: an aggregated ClusterRole's rules are the rules of the
ClusterRoles its aggregationRule selects (upstream's pkg/controller/clusterroleaggregation).

As upstream, any ClusterRole change queues every aggregated role (the set is small and the
dependency graph unknown: admin aggregates edit, which aggregates view), and the rules are written
by server-side apply with force as the controller's field manager, only when they change.
"""

from __future__ import annotations

import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.client.factory import InformerFactory
from boxk8s.controllers.base import Controller
from boxk8s.controllers.clusterroleaggregation_plan import RULE_FIELDS, plan_aggregation
from boxk8s.events import EventRecorder
from boxk8s.resources import registry

log = logging.getLogger(__name__)

CLUSTER_ROLES = registry.find("rbac.authorization.k8s.io", "v1", "clusterroles")


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation-controller"
    workers = 1

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None) -> None:
        super().__init__(client, factory, recorder)
        assert CLUSTER_ROLES
        self.roles = factory.informer(CLUSTER_ROLES)
        self.roles.add_handler(self._on_change)

    def _on_change(self, _type: str, _old: dict[str, Any] | None, _new: dict[str, Any] | None) -> None:
        for role in self.roles.list():
            if role.get("aggregationRule") is not None:
                self.queue.add(role["metadata"]["name"])

    async def reconcile(self, key: str) -> float | None:
        role = self.roles.get(key)
        if role is None:
            return None
        try:
            rules = plan_aggregation(role, self.roles.list())
        except errors.BadRequest as e:  # a selector no role can match until it is fixed
            log.warning("clusterrole/%s: aggregationRule: %s", key, e.message)
            return None
        if rules is None:
            return None
        assert CLUSTER_ROLES
        body: dict[str, Any] = {"apiVersion": CLUSTER_ROLES.api_version, "kind": CLUSTER_ROLES.kind,
                                "metadata": {"name": key}}
        if rules:
            body["rules"] = [{f: r[f] for f in RULE_FIELDS if r.get(f)} for r in rules]
        try:
            await self.client.apply(CLUSTER_ROLES, None, key, body, force=True)
        except errors.NotFound:
            return None
        log.info("clusterrole/%s: aggregated %d rules", key, len(rules))
        return None
