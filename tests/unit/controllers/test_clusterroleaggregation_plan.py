"""Table tests for the ClusterRole aggregation plan (upstream's syncClusterRole)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s import errors
from boxk8s.cluster.rbac_defaults import cluster_roles
from boxk8s.controllers.clusterroleaggregation_plan import aggregated_rules, plan_aggregation

VIEW = "rbac.authorization.k8s.io/aggregate-to-view"


def rule(*resources: str, verbs: tuple[str, ...] = ("get",), group: str = "") -> dict[str, Any]:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def role(name: str, rules: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None,
         selectors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {}}}
    if rules is not None:
        r["rules"] = rules
    if selectors is not None:
        r["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return r


AGG = role("agg", selectors=[{"matchLabels": {"a": "true"}}])
A1 = role("b-second", [rule("pods"), rule("services")], {"a": "true"})
A2 = role("a-first", [rule("secrets"), rule("pods")], {"a": "true"})
OTHER = role("other", [rule("nodes")], {"b": "true"})


@pytest.mark.parametrize(("target", "roles", "expected"), [
    # not aggregated: nothing to write, whatever its rules
    (role("plain", [rule("pods")]), [A1], None),
    # the selected roles by name (a-first before b-second), each rule once, never the unselected
    (AGG, [AGG, A1, A2, OTHER], [rule("secrets"), rule("pods"), rule("services")]),
    # already the aggregate: nothing to write (upstream writes only on a change)
    (role("agg", [rule("secrets"), rule("pods"), rule("services")], selectors=[{"matchLabels": {"a": "true"}}]),
     [A1, A2], None),
    # the same rules in another order are a change (DeepEqual of the lists)
    (role("agg", [rule("pods"), rule("secrets"), rule("services")], selectors=[{"matchLabels": {"a": "true"}}]),
     [A1, A2], [rule("secrets"), rule("pods"), rule("services")]),
    # a rule that differs only by empty lists is the same rule (Semantic.DeepEqual: nil == [])
    (AGG, [role("x", [rule("pods"), {**rule("pods"), "resourceNames": []}], {"a": "true"})], [rule("pods")]),
    # nothing selected any more: the rules go
    (role("agg", [rule("pods")], selectors=[{"matchLabels": {"a": "true"}}]), [OTHER], []),
    (AGG, [OTHER], None),  # no rules and none to have
    # a role never aggregates itself, even when its own labels match
    (role("agg", None, {"a": "true"}, [{"matchLabels": {"a": "true"}}]), [A1], [rule("pods"), rule("services")]),
    # several selectors: in their order, duplicates across them dropped
    (role("agg", selectors=[{"matchLabels": {"b": "true"}}, {"matchLabels": {"a": "true"}}]),
     [A1, A2, OTHER, role("both", [rule("nodes")], {"a": "true"})],
     [rule("nodes"), rule("secrets"), rule("pods"), rule("services")]),
    # matchExpressions select as well
    (role("agg", selectors=[{"matchExpressions": [{"key": "b", "operator": "Exists"}]}]), [A1, OTHER],
     [rule("nodes")]),
    # an empty selector selects every other role
    (role("agg", selectors=[{}]), [A2, OTHER], [rule("secrets"), rule("pods"), rule("nodes")]),
])
def test_plan_aggregation(target: dict[str, Any], roles: list[dict[str, Any]],
                          expected: list[dict[str, Any]] | None) -> None:
    assert plan_aggregation(target, roles) == expected


def test_invalid_selector_is_an_error() -> None:
    bad = role("agg", selectors=[{"matchExpressions": [{"key": "a", "operator": "Near"}]}])
    with pytest.raises(errors.BadRequest):
        plan_aggregation(bad, [A1])


def _converge(roles: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run the plan over every aggregated role until nothing changes, as the controller does."""
    by_name = {r["metadata"]["name"]: r for r in roles}
    for _ in range(10):
        changed = False
        for name, r in list(by_name.items()):
            rules = plan_aggregation(r, list(by_name.values()))
            if rules is not None:
                by_name[name] = {**r, "rules": rules}
                changed = True
        if not changed:
            return by_name
    raise AssertionError("did not converge")


def test_default_roles_aggregate_as_upstream() -> None:
    roles = _converge(cluster_roles())
    defaults = {r["metadata"]["name"]: r for r in cluster_roles()}
    view, edit, admin = (roles[n]["rules"] for n in ("view", "edit", "admin"))
    assert view == defaults["system:aggregate-to-view"]["rules"]
    # edit selects system:aggregate-to-edit then view (by name); admin selects edit then system:aggregate-to-admin
    assert edit == defaults["system:aggregate-to-edit"]["rules"] + view
    assert admin == edit + defaults["system:aggregate-to-admin"]["rules"]
    assert (len(view), len(edit), len(admin)) == (10, 23, 25)
    # a user's role labelled for view shows up in view, edit and admin
    mine = role("my-crd-viewer", [rule("widgets", group="example.com")], {VIEW: "true"})
    roles = _converge([*roles.values(), mine])
    for name in ("view", "edit", "admin"):
        assert rule("widgets", group="example.com") in roles[name]["rules"], name
    # by name: my-crd-viewer comes before system:aggregate-to-view
    assert aggregated_rules(roles["view"], roles.values())[0] == rule("widgets", group="example.com")
