"""The ClusterRole aggregation controller's decision, as a pure function (upstream's
pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go, syncClusterRole)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from boxk8s.resources.selectors import selector_from_label_selector

Obj = dict[str, Any]

# The fields of rbacv1.PolicyRule, in the order Go serialises them.
RULE_FIELDS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


def _semantic(rule: Obj) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """A rule as equality.Semantic.DeepEqual sees it: a missing, null or empty list are the same,
    the order of each list's items matters."""
    return tuple((f, tuple(rule[f])) for f in RULE_FIELDS if rule.get(f))


def aggregated_rules(role: Obj, roles: Iterable[Obj]) -> list[Obj]:
    """The rules of every ClusterRole one of `role`'s clusterRoleSelectors selects (never itself):
    selector by selector, the selected roles by name, each rule once (ruleExists), in that order.
    An invalid selector raises errors.BadRequest, as LabelSelectorAsSelector fails upstream."""
    by_name = sorted(roles, key=lambda r: str(r["metadata"]["name"]))
    name = role["metadata"]["name"]
    seen: set[tuple[tuple[str, tuple[Any, ...]], ...]] = set()
    out: list[Obj] = []
    for raw in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        selector = selector_from_label_selector(raw)
        for other in by_name:
            if other["metadata"]["name"] == name or not selector(other["metadata"].get("labels") or {}):
                continue
            for rule in other.get("rules") or []:
                key = _semantic(rule)
                if key not in seen:
                    seen.add(key)
                    out.append(rule)
    return out


def plan_aggregation(role: Obj, roles: Iterable[Obj]) -> list[Obj] | None:
    """The rules to write on an aggregated ClusterRole, or None when there is nothing to write
    (not aggregated, or its rules already are the aggregate: upstream writes only on a change)."""
    if role.get("aggregationRule") is None:
        return None
    rules = aggregated_rules(role, roles)
    current = role.get("rules") or []
    if [_semantic(r) for r in rules] == [_semantic(r) for r in current]:
        return None
    return rules
