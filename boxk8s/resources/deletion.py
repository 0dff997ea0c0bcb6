"""Deletion, decided as a pure plan: what one delete request does to one stored object.

The apiserver's generic registry (apiserver/pkg/registry/generic/registry/store.go: Delete,
updateForGracefulDeletionAndFinalizers, deletionFinalizersForGarbageCollection) weighs
preconditions, the kind's graceful-deletion strategy, finalizers and the propagation policy,
and then either removes the key, marks the object terminating, or only changes its finalizers.
`plan_delete` makes that decision over plain data, like the store's `writer.plan`; the resource
layer executes it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from boxk8s import errors
from boxk8s.resources.meta import format_time
from boxk8s.resources.registry import ResourceType
from boxk8s.resources.status import deletion_finalizers
from boxk8s.resources.strategy import strategy_for

Action = Literal["answer", "update", "remove"]


@dataclass(frozen=True)
class DeletePlan:
    """What to do, and what to answer.

    - "answer": write nothing; answer `obj` (a dry run, or a delete that changes nothing);
    - "update": write `obj` (terminating, or its finalizers changed) at the current revision;
    - "remove": remove the key at the current revision, now; answer what the store removed.
    `gone`: whether the answer says the object is gone (200 with the object) rather than
    still there, terminating (202).
    """

    action: Action
    obj: dict[str, Any]
    gone: bool


def plan_delete(
    rt: ResourceType, current: dict[str, Any], options: dict[str, Any], *, dry_run: bool, now: datetime
) -> DeletePlan:
    """Decide one delete of `current` (as stored) under DeleteOptions `options`. Raises the
    API error of a failed precondition or of a kind that refuses the delete."""
    md = current["metadata"]
    _check_preconditions(rt, md, options.get("preconditions") or {})
    strategy = strategy_for(rt)
    strategy.check_delete(current)
    grace = strategy.grace_period(current, options.get("gracePeriodSeconds"))
    finalizers = list(md.get("finalizers") or [])
    wanted = deletion_finalizers(rt, finalizers, options)
    blocked = strategy.blocks_deletion(current)
    if not (finalizers or wanted or grace or blocked):
        return _remove(current, dry_run)
    new = copy.deepcopy(current)
    if wanted:
        new["metadata"]["finalizers"] = wanted
    else:
        new["metadata"].pop("finalizers", None)
    if md.get("deletionTimestamp"):  # already terminating
        if wanted == finalizers:
            return DeletePlan("answer", current, False)
        if dry_run:
            return DeletePlan("answer", new, False)
        # A later delete may change the propagation policy of one already under way.
        if not (wanted or blocked or grace):
            return DeletePlan("remove", current, True)
        return DeletePlan("update", new, False)
    if not (wanted or grace or blocked):  # the policy took away the only finalizers
        return _remove(current, dry_run)
    new_md = new["metadata"]
    new_md["deletionTimestamp"] = format_time(now + timedelta(seconds=grace))
    new_md["deletionGracePeriodSeconds"] = grace
    strategy.prepare_for_terminating(new)
    return DeletePlan("answer" if dry_run else "update", new, False)


def finalized(rt: ResourceType, obj: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether an update leaves a terminating object with nothing to wait for, so it is removed
    instead of written: the registry's shouldDeleteDuringUpdate (no finalizers left, a delete asked
    for, and no grace period running: a pod in its graceful termination is written as usual)."""
    md, old = obj["metadata"], current["metadata"]
    if md.get("finalizers") or not old.get("deletionTimestamp") or old.get("deletionGracePeriodSeconds"):
        return False
    return not strategy_for(rt).blocks_deletion(obj)


def _remove(current: dict[str, Any], dry_run: bool) -> DeletePlan:
    return DeletePlan("answer" if dry_run else "remove", current, True)


def _check_preconditions(rt: ResourceType, md: dict[str, Any], pre: dict[str, Any]) -> None:
    """metav1.Preconditions: the UID and resourceVersion the client says it deletes."""
    name = md["name"]
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise errors.Conflict(
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {md.get('uid')}",
            name=name, group=rt.group, kind=rt.plural,
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
        raise errors.conflict(rt.group, rt.plural, name)
