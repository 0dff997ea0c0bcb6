"""The Deployment controller's rollout decisions, as pure functions over wire dicts.

Follows upstream's pkg/controller/deployment (rolling.go, recreate.go, sync.go) and
deployment/util: the pod-template-hash, fenceposts, which ReplicaSet is new, how far each
ReplicaSet may be scaled in one step, proportional scaling, revisions and history cleanup.
"""

from __future__ import annotations

import copy
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from boxk8s.controllers.podutil import controller_ref
from boxk8s.resources import meta

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"  # apps.DefaultDeploymentUniqueLabelKey
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations never copied to its ReplicaSets (annotationsToSkip).
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                                 ROLLBACK_TO})

# rand.SafeEncodeString's alphabet: no vowels, no confusable characters.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


# ---- hashing -----------------------------------------------------------------------------------

def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    for b in data:
        h = ((h ^ b) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto the 27-letter alphabet."""
    return "".join(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)] for b in s.encode())


def _drop_nulls(value: Any) -> Any:
    """A JSON null is an absent field to Go (kubectl sends `creationTimestamp: null` in templates)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """controller.ComputeHash: fnv32a over the template (canonical JSON here) + collisionCount, safe-encoded."""
    data = json.dumps(_drop_nulls(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0\0\0\0", h)
    return safe_encode_string(str(h))


def _without_hash(template: Obj | None) -> Obj:
    t = _drop_nulls(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels and HASH_LABEL in labels:
        del labels[HASH_LABEL]
        if not labels:
            del t["metadata"]["labels"]
    if "metadata" in t and not t["metadata"]:
        del t["metadata"]
    return t


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """EqualIgnoreHash: templates equal once the pod-template-hash label is dropped from both."""
    return _without_hash(a) == _without_hash(b)


# ---- fenceposts -----------------------------------------------------------------------------------

def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage") from None
    pct = int(text[:-1])
    exact = pct * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """ResolveFenceposts: surge rounds up, unavailable rounds down; both 0 means unavailable 1."""
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else 0, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def replicas_of(obj: Obj | None) -> int:
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def is_rolling(d: Obj) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def _rolling_params(d: Obj) -> Obj:
    return (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}


def max_unavailable(d: Obj) -> int:
    replicas = replicas_of(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    p = _rolling_params(d)
    _, unavailable = resolve_fenceposts(p.get("maxSurge"), p.get("maxUnavailable"), replicas)
    return min(unavailable, replicas)


def max_surge(d: Obj) -> int:
    if not is_rolling(d):
        return 0
    p = _rolling_params(d)
    surge, _ = resolve_fenceposts(p.get("maxSurge"), p.get("maxUnavailable"), replicas_of(d))
    return surge


# ---- which ReplicaSets ------------------------------------------------------------------------

def _created(rs: Obj) -> tuple[float, str]:
    ts = meta.parse_time(rs["metadata"].get("creationTimestamp"))
    return (ts.timestamp() if ts else 0.0, rs["metadata"]["name"])


def by_creation(rss: list[Obj]) -> list[Obj]:
    """ReplicaSetsByCreationTimestamp: oldest first, then by name."""
    return sorted(rss, key=_created)


def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's."""
    for rs in by_creation(rss):
        if equal_ignore_hash(rs["spec"].get("template"), d["spec"].get("template")):
            return rs
    return None


def revision(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: list[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def is_active(rs: Obj) -> bool:
    return replicas_of(rs) > 0


def available_of(rs: Obj | None) -> int:
    return int(((rs or {}).get("status") or {}).get("availableReplicas") or 0)


def total_replicas(rss: list[Obj | None]) -> int:
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def total_available(rss: list[Obj | None]) -> int:
    return sum(available_of(rs) for rs in rss if rs is not None)


# ---- the new ReplicaSet ------------------------------------------------------------------------

def new_rs_replicas(d: Obj, all_rss: list[Obj | None], new_rs: Obj | None) -> int:
    """NewRSNewReplicas: how far the new ReplicaSet may grow now."""
    desired = replicas_of(d)
    current_new = replicas_of(new_rs) if new_rs is not None else 0
    if not is_rolling(d):
        return desired
    surge = scaled_value(_rolling_params(d).get("maxSurge"), desired, True)
    current = total_replicas(all_rss)
    max_total = desired + surge
    if current >= max_total:
        return current_new
    return current_new + min(max_total - current, desired - current_new)


def replica_annotations(d: Obj) -> dict[str, str]:
    return {DESIRED_REPLICAS: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + max_surge(d))}


def new_rs_annotations(d: Obj, rs_annotations: dict[str, str] | None, new_revision: int, exists: bool) -> dict[str, str]:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the revision, keep its history."""
    out = dict(rs_annotations or {})
    for k, v in (d["metadata"].get("annotations") or {}).items():
        if k not in ANNOTATIONS_TO_SKIP:
            out[k] = v
    old = out.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return dict(rs_annotations or {})
    if old_int < new_revision:
        out[REVISION] = str(new_revision)
        if old:
            history = [h for h in out.get(REVISION_HISTORY, "").split(",") if h]
            out[REVISION_HISTORY] = ",".join([*history, old])
    if not exists:
        out.update(replica_annotations(d))
    return out


def new_replica_set(d: Obj, template_hash: str, replicas: int, annotations: dict[str, str]) -> Obj:
    """The ReplicaSet a Deployment creates for its current template: `<deploy>-<hash>`."""
    template = copy.deepcopy(d["spec"].get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: template_hash}
    selector = copy.deepcopy(d["spec"].get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: template_hash}
    owner = {**d, "apiVersion": "apps/v1", "kind": "Deployment"}
    spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if d["spec"].get("minReadySeconds"):
        spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{d['metadata']['name']}-{template_hash}",
            "namespace": d["metadata"]["namespace"],
            "labels": dict(tmeta["labels"]),
            "annotations": annotations,
            "ownerReferences": [controller_ref(owner)],
        },
        "spec": spec,
    }


# ---- scaling steps -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    name: str
    replicas: int


def plan_rolling_scale_up(d: Obj, new_rs: Obj, old_rss: list[Obj]) -> Scale | None:
    """reconcileNewReplicaSet."""
    desired, current = replicas_of(d), replicas_of(new_rs)
    if current == desired:
        return None
    if current > desired:
        return Scale(new_rs["metadata"]["name"], desired)
    target = new_rs_replicas(d, [*old_rss, new_rs], new_rs)
    return Scale(new_rs["metadata"]["name"], target) if target != current else None


def plan_rolling_scale_down(d: Obj, new_rs: Obj, old_rss: list[Obj]) -> list[Scale]:
    """reconcileOldReplicaSets: first unhealthy old replicas, then available ones down to minAvailable."""
    active_old = [rs for rs in old_rss if is_active(rs)]
    if total_replicas(list(active_old)) == 0:
        return []
    all_rss: list[Obj | None] = [*active_old, new_rs]
    min_available = replicas_of(d) - max_unavailable(d)
    new_unavailable = replicas_of(new_rs) - available_of(new_rs)
    max_scaled_down = total_replicas(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    sizes = {rs["metadata"]["name"]: replicas_of(rs) for rs in active_old}
    ordered = by_creation(active_old)
    # cleanupUnhealthyReplicas
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        name = rs["metadata"]["name"]
        unhealthy = sizes[name] - available_of(rs)
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        step = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] -= step
        cleaned += step
    # scaleDownOldReplicaSetsForRollingUpdate
    available = total_available(all_rss)
    if available > min_available:
        to_go, done = available - min_available, 0
        for rs in ordered:
            if done >= to_go:
                break
            name = rs["metadata"]["name"]
            if sizes[name] == 0:
                continue
            step = min(sizes[name], to_go - done)
            sizes[name] -= step
            done += step
    return [Scale(rs["metadata"]["name"], sizes[rs["metadata"]["name"]]) for rs in ordered
            if sizes[rs["metadata"]["name"]] != replicas_of(rs)]


def plan_rolling(d: Obj, new_rs: Obj, old_rss: list[Obj]) -> list[Scale]:
    """One rolling-update step: scale the new ReplicaSet up if possible, else old ones down."""
    up = plan_rolling_scale_up(d, new_rs, old_rss)
    if up is not None:
        return [up]
    return plan_rolling_scale_down(d, new_rs, old_rss)


def plan_recreate(d: Obj, new_rs: Obj | None, old_rss: list[Obj], old_pods_running: bool) -> tuple[str, list[Scale]]:
    """rolloutRecreate: ("scale-down", …) old first; ("wait", []) while old pods run; then ("create"|"scale-up", …)."""
    downs = [Scale(rs["metadata"]["name"], 0) for rs in old_rss if is_active(rs)]
    if downs:
        return "scale-down", downs
    if old_pods_running:
        return "wait", []
    if new_rs is None:
        return "create", []
    if replicas_of(new_rs) != replicas_of(d):
        return "scale-up", [Scale(new_rs["metadata"]["name"], replicas_of(d))]
    return "done", []


def is_scaling_event(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> bool:
    """isScalingEvent: an active ReplicaSet was sized for a different spec.replicas."""
    if new_rs is None:
        return False
    for rs in [*old_rss, new_rs]:
        if not is_active(rs):
            continue
        desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
        if desired is None:
            continue
        try:
            if int(desired) != replicas_of(d):
                return True
        except ValueError:
            continue
    return False


def _rs_fraction(rs: Obj, d: Obj) -> int:
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_replicas = replicas_of(d) + max_surge(d)
    try:
        annotated = int((rs["metadata"].get("annotations") or {})[MAX_REPLICAS])
    except (KeyError, ValueError):
        annotated = int((d.get("status") or {}).get("replicas") or 0)
    if annotated == 0:
        return 0
    size = replicas_of(rs) * deployment_replicas / annotated
    return int(math.floor(size + 0.5)) - replicas_of(rs)


def _proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _rs_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _saturated(d: Obj, rs: Obj) -> bool:
    """IsSaturated: the new ReplicaSet is sized for this spec.replicas and all of it is available."""
    desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
    return replicas_of(rs) == replicas_of(d) and desired == str(replicas_of(d)) and available_of(rs) == replicas_of(d)


def plan_scale(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> list[Scale]:
    """scale(): resize for a new spec.replicas, proportionally across ReplicaSets mid-rollout."""
    desired = replicas_of(d)
    candidates = [rs for rs in ([new_rs] if new_rs else []) + old_rss if is_active(rs)]
    # FindActiveOrLatest: one active ReplicaSet (or none: the newest) takes all the replicas
    if len(candidates) <= 1:
        target = candidates[0] if candidates else (new_rs or (by_creation(old_rss)[-1] if old_rss else None))
        if target is None or replicas_of(target) == desired:
            return []
        return [Scale(target["metadata"]["name"], desired)]
    if new_rs is not None and _saturated(d, new_rs):
        return [Scale(rs["metadata"]["name"], 0) for rs in old_rss if is_active(rs)]  # IsSaturated
    if not is_rolling(d):
        return []
    current = total_replicas(list(candidates))
    allowed = desired + max_surge(d) if desired > 0 else 0
    to_add = allowed - current
    if to_add == 0:
        return []
    if to_add > 0:  # ReplicaSetsBySizeNewer
        ordered = sorted(candidates, key=lambda rs: (-replicas_of(rs), -_created(rs)[0]))
    else:  # ReplicaSetsBySizeOlder
        ordered = sorted(candidates, key=lambda rs: (-replicas_of(rs), _created(rs)[0]))
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        p = _proportion(rs, d, to_add, added)
        sizes[rs["metadata"]["name"]] = replicas_of(rs) + p
        added += p
    first = ordered[0]["metadata"]["name"]
    sizes[first] = max(sizes[first] + to_add - added, 0)
    return [Scale(rs["metadata"]["name"], sizes[rs["metadata"]["name"]]) for rs in ordered
            if sizes[rs["metadata"]["name"]] != replicas_of(rs)]


def plan_cleanup(d: Obj, old_rss: list[Obj]) -> list[str]:
    """cleanupDeployment: the oldest revisions beyond revisionHistoryLimit, if they are scaled to zero."""
    limit = d["spec"].get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    diff = len(alive) - int(limit)
    if diff <= 0:
        return []
    ordered = sorted(alive, key=lambda rs: (revision(rs), _created(rs)))  # ReplicaSetsByRevision
    out = []
    for rs in ordered[:diff]:
        status = rs.get("status") or {}
        if (status.get("replicas") or 0) != 0 or replicas_of(rs) != 0:
            continue
        if (rs["metadata"].get("generation") or 0) > (status.get("observedGeneration") or 0):
            continue
        out.append(rs["metadata"]["name"])
    return out


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], pods_by_owner: dict[str, list[Obj]]) -> bool:
    """oldPodsRunning: any old ReplicaSet still reports pods, or any pod of an old one is not finished."""
    if sum(int((rs.get("status") or {}).get("replicas") or 0) for rs in old_rss) > 0:
        return True
    new_uid = new_rs["metadata"].get("uid") if new_rs else None
    for uid, pods in pods_by_owner.items():
        if uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                return True
    return False
