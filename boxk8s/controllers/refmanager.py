"""ControllerRefManager (pkg/controller/controller_ref_manager.go): one claim flow for every owner kind.

`plan_claims` (podutil) decides; `claim` performs: adopt matching orphans — only after canAdopt
(RecheckDeletionTimestamp: a fresh read shows the same owner, not being deleted) — and release
owned objects that stopped matching. The ReplicaSet and ReplicationController controllers claim
pods with it, the Deployment controller ReplicaSets; the owner kind's strategy says how its
selector reads.
"""

from __future__ import annotations

import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.controllers.podutil import plan_claims, with_owner, without_owner
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.strategy import strategy_for

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ControllerRefManager:
    def __init__(self, client: Client, owner_kind: ResourceType, owned_kind: ResourceType) -> None:
        self.client = client
        self.owner_kind = owner_kind
        self.owned_kind = owned_kind

    async def claim(self, owner: Obj, candidates: list[Obj]) -> list[Obj]:
        """ClaimObjects: the candidates `owner` controls once adoptions and releases are written,
        in the candidates' order (an adoption that failed is not among them)."""
        claims = plan_claims(owner, strategy_for(self.owner_kind).label_selector(owner), candidates)
        failed: set[str] = set()
        if claims.adopt:
            if await self._can_adopt(owner):
                ref_owner = {**owner, "apiVersion": self.owner_kind.api_version, "kind": self.owner_kind.kind}
                for obj in claims.adopt:
                    if not await self._write(with_owner(obj, ref_owner)):
                        failed.add(obj["metadata"]["uid"])
            else:
                failed = {obj["metadata"]["uid"] for obj in claims.adopt}
        for obj in claims.release:
            await self._write(without_owner(obj, owner))
        return [obj for obj in claims.owned if obj["metadata"]["uid"] not in failed]

    async def _can_adopt(self, owner: Obj) -> bool:
        """canAdopt: a fresh read, so an owner deleted or replaced meanwhile adopts nothing."""
        md = owner["metadata"]
        try:
            fresh = await self.client.get(self.owner_kind, md.get("namespace"), md["name"])
        except errors.NotFound:
            return False
        return fresh["metadata"].get("uid") == md.get("uid") and not fresh["metadata"].get("deletionTimestamp")

    async def _write(self, obj: Obj) -> bool:
        try:
            await self.client.update(self.owned_kind, obj)
            return True
        except (errors.NotFound, errors.Conflict) as e:
            log.info("%s/%s/%s: ownership not changed: %s", self.owned_kind.plural, obj["metadata"].get("namespace"),
                     obj["metadata"]["name"], e.message)
            return False
