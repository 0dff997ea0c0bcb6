"""Which nodes a pod may run on, as the scheduler, the DaemonSet controller and node lifecycle agree.

The shared matchers of k8s.io/component-helpers/scheduling/corev1 (nodeaffinity, and
`FindMatchingUntoleratedTaint`) and k8s.io/api/core/v1 `Toleration.ToleratesTaint`, over plain
dicts. They sit in `resources` because several components judge pods against nodes the same
way: the scheduler's filters and scores, the DaemonSet controller's NodeShouldRunDaemonPod and
the node lifecycle controller's taint-based eviction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Pod = Mapping[str, Any]

def tolerations_of(pod: Pod) -> list[Mapping[str, Any]]:
    return list((pod.get("spec") or {}).get("tolerations") or [])


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """v1.Toleration.ToleratesTaint: an empty key with Exists matches every key; empty effect every effect."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(pod: Pod, node: Mapping[str, Any], effects: tuple[str, ...]) -> Mapping[str, Any] | None:
    tolerations = tolerations_of(pod)
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in effects:
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None



def _compare_int(have: str | None, values: list[str], greater: bool) -> bool:
    if have is None or len(values) != 1:
        return False
    try:
        h, w = int(have), int(values[0])
    except ValueError:
        return False
    return h > w if greater else h < w


def requirement_matches(req: Mapping[str, Any], values_of: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement against labels (or fields)."""
    key = req.get("key", "")
    op = req.get("operator")
    values = list(req.get("values") or [])
    present = key in values_of
    have = values_of.get(key)
    if op == "In":
        return present and have in values
    if op == "NotIn":
        return not present or have not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        return _compare_int(have, values, op == "Gt")
    return False


def node_selector_term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """Expressions and fields are ANDed; a term with neither matches nothing (upstream's rule)."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    node_fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    if not all(requirement_matches(r, labels) for r in exprs):
        return False
    for r in fields:
        if r.get("key") != "metadata.name" or r.get("operator") not in ("In", "NotIn"):
            return False
        if not requirement_matches(r, node_fields):
            return False
    return True


def pod_matches_node_selector_and_affinity(pod: Pod, node: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        if not any(node_selector_term_matches(t, node) for t in terms):
            return False
    return True
