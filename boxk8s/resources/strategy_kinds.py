"""Strategy hooks of the cluster-level kinds whose write path differs from the generic one:
the CertificateSigningRequest's (pkg/registry/certificates/certificates/strategy.go).

A CSR records who asked for it, from the request's user, never from the body; its spec never
changes after creation; its Approved/Denied conditions change only through the approval
subresource and its certificate only through the status subresource.
"""

from __future__ import annotations

import copy
from typing import Any

from boxk8s.resources import meta, requester

Obj = dict[str, Any]

# The request's user (resources/requester.py); for writes made in-process, the kubeconfig's admin.
REQUESTING_USER = "kubernetes-admin"
REQUESTING_GROUPS = ("system:masters", "system:authenticated")

_APPROVAL_TYPES = ("Approved", "Denied")


def csr_prepare_for_create(obj: Obj) -> None:
    """csrStrategy.PrepareForCreate: the requester's identity replaces whatever the body claimed,
    and a CSR starts without conditions or certificate (no pre-approved requests)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    for key in ("username", "uid", "groups", "extra"):
        spec.pop(key, None)
    who = requester.current()
    if who is None:  # written in-process: as the kubeconfig's admin
        spec["username"] = REQUESTING_USER
        spec["groups"] = list(REQUESTING_GROUPS)
    else:
        spec["username"] = who.get("username", "")
        for key in ("uid", "groups", "extra"):
            if who.get(key):
                spec[key] = who[key]
    obj["status"] = {}


def _conditions(obj: Obj) -> list[Any]:
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return conditions if isinstance(conditions, list) else []


def _preserve_approval(new: Obj, old: Obj) -> None:
    """preserveConditionInstances: a /status write keeps the stored Approved/Denied conditions
    (when it has as many of each; otherwise validation refuses the difference)."""
    fresh, stored = _conditions(new), _conditions(old)
    for ctype in _APPROVAL_TYPES:
        at_new = [i for i, c in enumerate(fresh) if isinstance(c, dict) and c.get("type") == ctype]
        at_old = [i for i, c in enumerate(stored) if isinstance(c, dict) and c.get("type") == ctype]
        if len(at_new) != len(at_old):
            return
        for i, j in zip(at_new, at_old, strict=True):
            fresh[i] = copy.deepcopy(stored[j])


def _condition_times(new: Obj, old: Obj, now: str) -> None:
    """populateConditionTimestamps: lastUpdateTime now when unset; lastTransitionTime kept from a
    stored condition of the same type and status, else now."""
    for condition in _conditions(new):
        if not isinstance(condition, dict):
            continue
        if not condition.get("lastUpdateTime"):
            condition["lastUpdateTime"] = now
        if not condition.get("lastTransitionTime"):
            condition["lastTransitionTime"] = next(
                (c["lastTransitionTime"] for c in _conditions(old) if isinstance(c, dict)
                 and c.get("type") == condition.get("type") and c.get("status") == condition.get("status")
                 and c.get("lastTransitionTime")),
                now,
            )


def csr_prepare_for_update(old: Obj, sent: Obj, new: Obj, subresource: str, now: str | None = None) -> None:
    """csrStrategy / csrStatusStrategy / csrApprovalStrategy PrepareForUpdate."""
    new["spec"] = copy.deepcopy(old.get("spec") or {})
    if subresource == "":
        new["status"] = copy.deepcopy(old.get("status") or {})
        return
    if subresource == "approval":
        status = copy.deepcopy(old.get("status") or {})
        sent_status = sent.get("status") if isinstance(sent.get("status"), dict) else {}
        status["conditions"] = copy.deepcopy(sent_status.get("conditions") or [])
        if not status["conditions"]:
            del status["conditions"]
        new["status"] = status
    elif subresource == "status":
        _preserve_approval(new, old)
    _condition_times(new, old, now or meta.now_rfc3339())
