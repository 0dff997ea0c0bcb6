"""ControllerRevisions, as StatefulSet and DaemonSet keep them (k8s.io/kubernetes/pkg/controller/history).

A revision snapshots a workload's pod template as the patch that would restore it
(`{"spec": {"template": {..., "$patch": "replace"}}}`), is named `<owner>-<hash>` and carries an
increasing `revision` number. Re-applying an older template reuses that revision and gives it
the next number, as upstream does for rollbacks. Everything here except `RevisionStore` is pure.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.resources import registry

log = logging.getLogger(__name__)

CONTROLLER_REVISIONS = registry.find("apps", "v1", "controllerrevisions")
REVISION_HASH_LABEL = "controller-revision-hash"  # apps.ControllerRevisionHashLabelKey, on pods
HISTORY_HASH_LABEL = "controller.kubernetes.io/hash"  # history.ControllerRevisionHashLabel, on revisions
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand

Obj = dict[str, Any]


# --- hashing and revision bodies ---------------------------------------------------------------

def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: no vowels, no confusable characters, so hashes never spell words."""
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_data(data: Any, collision_count: int = 0) -> str:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32a(raw)))


def template_patch(template: Mapping[str, Any] | None) -> Obj:
    """getPatch(set): the revision's data, which restores exactly this template."""
    return {"spec": {"template": {**copy.deepcopy(dict(template or {})), "$patch": "replace"}}}


def template_of(revision: Mapping[str, Any]) -> Obj:
    """The pod template a revision restores."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return copy.deepcopy(template)


def owner_reference(owner: Mapping[str, Any], kind: str, api_version: str = "apps/v1") -> Obj:
    md = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def is_owned_by(obj: Mapping[str, Any], owner_uid: str) -> bool:
    return any(ref.get("controller") and ref.get("uid") == owner_uid
               for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def new_revision(owner: Mapping[str, Any], kind: str, template: Mapping[str, Any] | None, number: int,
                 collision_count: int = 0, *, name_hash: str | None = None) -> Obj:
    """history.NewControllerRevision. `name_hash` overrides the hash (a DaemonSet hashes the template)."""
    data = template_patch(template)
    h = name_hash or hash_data(data, collision_count)
    labels = dict(((template or {}).get("metadata") or {}).get("labels") or {})
    labels[HISTORY_HASH_LABEL] = h
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": f"{owner['metadata']['name']}-{h}", "namespace": owner["metadata"].get("namespace"),
                     "labels": labels, "ownerReferences": [owner_reference(owner, kind)]},
        "data": data,
        "revision": number,
    }


def next_revision_number(revisions: Iterable[Mapping[str, Any]]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1


def find_equal(revisions: Iterable[Mapping[str, Any]], data: Mapping[str, Any]) -> Obj | None:
    """The newest revision whose data equals `data` (history.FindEqualRevisions)."""
    equal = [r for r in revisions if r.get("data") == data]
    return dict(max(equal, key=lambda r: int(r.get("revision") or 0))) if equal else None


def plan_history_cleanup(revisions: Iterable[Mapping[str, Any]], live: set[str], limit: int) -> list[str]:
    """Names of the oldest revisions to delete so at most `limit` non-live ones remain."""
    old = sorted((r for r in revisions if r["metadata"]["name"] not in live), key=lambda r: int(r.get("revision") or 0))
    excess = len(old) - max(limit, 0)
    return [r["metadata"]["name"] for r in old[:excess]] if excess > 0 else []


class RevisionStore:
    """Creates, renumbers and deletes ControllerRevisions through the client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ensure(self, wanted: Obj, existing: list[Obj]) -> Obj:
        """The stored revision for `wanted` (same data): created, or renumbered if an older one is reused."""
        assert CONTROLLER_REVISIONS is not None
        same = find_equal(existing, wanted["data"])
        if same is not None:
            latest = next_revision_number(existing) - 1
            if int(same.get("revision") or 0) < latest:
                same = copy.deepcopy(same)
                same["revision"] = latest + 1
                same = await self.client.update(CONTROLLER_REVISIONS, same)
            return same
        ns = wanted["metadata"]["namespace"]
        try:
            return await self.client.create(CONTROLLER_REVISIONS, ns, wanted)
        except errors.AlreadyExists:
            # Created by an earlier pass the cache has not seen yet; if its data differs this is a
            # hash collision, which the caller resolves by bumping collisionCount.
            found = await self.client.get(CONTROLLER_REVISIONS, ns, wanted["metadata"]["name"])
            if found.get("data") != wanted["data"]:
                raise HashCollision(wanted["metadata"]["name"]) from None
            return found

    async def ensure_update_revision(self, owner: Obj, existing: list[Obj],
                                     build: Callable[[int], Obj]) -> tuple[Obj, int]:
        """The stored revision of the owner's template and the collision count that names it.

        `build(collisions)` makes the wanted revision; a hash collision bumps the count and tries
        again (getStatefulSetRevisions / constructHistory: status.collisionCount).
        """
        collisions = int((owner.get("status") or {}).get("collisionCount") or 0)
        while True:
            try:
                return await self.ensure(build(collisions), existing), collisions
            except HashCollision:
                collisions += 1

    async def delete(self, namespace: str, names: Iterable[str]) -> None:
        assert CONTROLLER_REVISIONS is not None
        for name in names:
            try:
                await self.client.delete(CONTROLLER_REVISIONS, namespace, name)
            except errors.NotFound:
                pass


class HashCollision(Exception):
    pass


# --- object state --------------------------------------------------------------------------------

def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")
