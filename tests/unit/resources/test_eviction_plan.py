"""The eviction subresource's decisions as tables: which pods skip their PDB, checkAndDecrement, the request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from boxk8s import errors
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.disruption import pdbs_for_pod, set_status_condition
from boxk8s.resources.eviction import (
    can_ignore_pdb,
    check_and_decrement,
    check_pod_preconditions,
    delete_options_of,
    propagate_dry_run,
    should_enforce_resource_version,
    unhealthy_pod_may_go,
    with_disruption_condition,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
Obj = dict[str, Any]


def ts(seconds_ago: float = 0) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(phase: str = "Running", ready: bool = True, deleting: bool = False, labels: dict[str, str] | None = None,
        namespace: str = "default") -> Obj:
    md: Obj = {"name": "p", "namespace": namespace, "uid": "u1", "resourceVersion": "7",
               "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        md["deletionTimestamp"] = ts()
    return {"metadata": md, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(name: str = "web", *, allowed: int = 1, current: int = 3, desired: int = 2, generation: int = 1,
        observed: int = 1, policy: str | None = None, selector: Obj | None = None, disrupted: Obj | None = None,
        namespace: str = "default") -> Obj:
    spec: Obj = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    status: Obj = {"observedGeneration": observed, "disruptionsAllowed": allowed, "currentHealthy": current,
                   "desiredHealthy": desired, "expectedPods": 3,
                   "conditions": [{"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                                   "observedGeneration": observed, "lastTransitionTime": ts(300),
                                   "reason": "SufficientPods" if allowed else "InsufficientPods", "message": ""}]}
    if disrupted is not None:
        status["disruptedPods"] = disrupted
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation, "resourceVersion": "9"},
            "spec": spec, "status": status}


@pytest.mark.parametrize(("p", "ignore", "pin"), [
    (pod("Running"), False, True),
    (pod("Running", ready=False), False, True),
    (pod("Pending"), True, True),  # not started: deleted outright, but pinned (it may start meanwhile)
    (pod("Succeeded"), True, False),
    (pod("Failed"), True, False),
    (pod("Running", deleting=True), True, False),
    (pod("Unknown"), False, True),
])
def test_which_pods_skip_their_budget(p: Obj, ignore: bool, pin: bool) -> None:
    assert can_ignore_pdb(p) is ignore
    assert should_enforce_resource_version(p) is pin


@pytest.mark.parametrize(("p", "budget", "may_go"), [
    (pod(ready=True), pdb(), False),  # healthy pods always spend the budget
    (pod(ready=False), pdb(current=2, desired=2), True),  # IfHealthyBudget (default): the app is whole
    (pod(ready=False), pdb(current=1, desired=2), False),
    (pod(ready=False), pdb(current=0, desired=0), False),  # desiredHealthy 0: not "whole"
    (pod(ready=False), pdb(current=1, desired=2, policy="IfHealthyBudget"), False),
    (pod(ready=False), pdb(current=1, desired=2, policy="AlwaysAllow"), True),
    (pod(ready=True), pdb(current=1, desired=2, policy="AlwaysAllow"), False),
])
def test_unhealthy_pods(p: Obj, budget: Obj, may_go: bool) -> None:
    assert unhealthy_pod_may_go(p, budget) is may_go


def test_check_and_decrement_spends_one_disruption() -> None:
    new = check_and_decrement(pdb(allowed=2, disrupted={"q": ts(5)}), "p", NOW, dry_run=False)
    assert new is not None
    assert new["metadata"]["resourceVersion"] == "9"  # written at the version read
    assert new["status"]["disruptionsAllowed"] == 1
    assert new["status"]["disruptedPods"] == {"q": ts(5), "p": ts()}
    assert new["status"]["conditions"][0]["reason"] == "SufficientPods"  # untouched above 0


def test_check_and_decrement_the_last_disruption_flips_the_condition() -> None:
    new = check_and_decrement(pdb(allowed=1), "p", NOW, dry_run=False)
    assert new is not None and new["status"]["disruptionsAllowed"] == 0
    assert new["status"]["conditions"] == [{"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
                                            "lastTransitionTime": ts(), "reason": "InsufficientPods", "message": ""}]
    assert check_and_decrement(pdb(allowed=1), "p", NOW, dry_run=True) is None  # allowed, nothing written


@pytest.mark.parametrize(("budget", "error", "status"), [
    (pdb(allowed=0, current=2, desired=2), errors.TooManyRequests, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]},
        "code": 429}),
    (pdb(generation=2, observed=1), errors.TooManyRequests, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget web is still being processed by the server."}],
                    "retryAfterSeconds": 10},
        "code": 429}),
    (pdb(allowed=-1), errors.Forbidden, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative',
        "reason": "Forbidden", "details": {"name": "web", "group": "policy", "kind": "poddisruptionbudget"},
        "code": 403}),
    (pdb(disrupted={f"p{i}": ts() for i in range(2001)}), errors.Forbidden, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'poddisruptionbudget.policy "web" is forbidden: DisruptedPods map too big - too many evictions '
                   "not confirmed by PDB controller",
        "reason": "Forbidden", "details": {"name": "web", "group": "policy", "kind": "poddisruptionbudget"},
        "code": 403}),
])
def test_check_and_decrement_refusals(budget: Obj, error: type[errors.ApiError], status: Obj) -> None:
    with pytest.raises(error) as e:
        check_and_decrement(budget, "p", NOW, dry_run=False)
    assert e.value.status() == status


@pytest.mark.parametrize(("p", "names"), [
    (pod(), ["web", "all"]),
    (pod(labels={"app": "db"}), ["all"]),
    (pod(labels={}), ["all"]),
    (pod(namespace="other"), []),
])
def test_pdbs_for_pod(p: Obj, names: list[str]) -> None:
    budgets = [pdb("web"), pdb("all", selector={}), pdb("none"), pdb("bad", selector={"matchExpressions": [
        {"key": "a", "operator": "Near"}]}), pdb("elsewhere", namespace="kube-system", selector={})]
    budgets[2]["spec"]["selector"] = None  # a null selector selects nothing
    assert [b["metadata"]["name"] for b in pdbs_for_pod(budgets, p)] == names


def test_set_status_condition() -> None:
    conditions: list[Obj] = []
    assert set_status_condition(conditions, {"type": "A", "status": "True", "reason": "R"}, NOW)
    assert conditions == [{"type": "A", "status": "True", "lastTransitionTime": ts(), "reason": "R", "message": ""}]
    later = NOW + timedelta(seconds=60)
    assert not set_status_condition(conditions, {"type": "A", "status": "True", "reason": "R"}, later)
    assert set_status_condition(conditions, {"type": "A", "status": "True", "reason": "S", "observedGeneration": 3},
                                later)
    assert conditions[0]["lastTransitionTime"] == ts() and conditions[0]["observedGeneration"] == 3
    assert set_status_condition(conditions, {"type": "A", "status": "False", "reason": "S"}, later)
    assert conditions[0]["lastTransitionTime"] == "2026-01-01T12:01:00Z" and "observedGeneration" not in conditions[0]


def test_disruption_condition() -> None:
    new = with_disruption_condition(pod(), NOW)
    assert new["status"]["conditions"][-1] == {
        "type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": ts(),
        "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}
    again = with_disruption_condition(new, NOW + timedelta(seconds=30))
    assert again == new  # already there: unchanged, nothing to write


@pytest.mark.parametrize(("options", "message"), [
    ({"preconditions": {"uid": "u2"}}, 'Operation cannot be fulfilled on Pod "p": the UID in the precondition (u2) '
     "does not match the UID in record (u1). The object might have been deleted and then recreated"),
    ({"preconditions": {"resourceVersion": "6"}}, 'Operation cannot be fulfilled on Pod "p": the ResourceVersion in '
     "the precondition (6) does not match the ResourceVersion in record (7). The object might have been modified"),
])
def test_pod_preconditions(options: Obj, message: str) -> None:
    with pytest.raises(errors.Conflict) as e:
        check_pod_preconditions(pod(), options)
    assert e.value.message == message
    check_pod_preconditions(pod(), {"preconditions": {"uid": "u1", "resourceVersion": "7"}})


@pytest.mark.parametrize(("options", "query", "result"), [
    ({}, [], {}),
    ({}, ["All"], {"dryRun": ["All"]}),
    ({"dryRun": ["All"]}, [], {"dryRun": ["All"]}),
    ({"dryRun": ["All"]}, ["All"], {"dryRun": ["All"]}),
    ({"gracePeriodSeconds": 0}, ["All"], {"gracePeriodSeconds": 0, "dryRun": ["All"]}),
])
def test_propagate_dry_run(options: Obj, query: list[str], result: Obj) -> None:
    assert propagate_dry_run(options, query) == result


def test_propagate_dry_run_conflict() -> None:
    with pytest.raises(errors.InternalError, match=r"Non-matching dry-run options in request and content: "
                                                   r"\[All\] and \[Some\]"):
        propagate_dry_run({"dryRun": ["Some"]}, ["All"])


@pytest.mark.parametrize(("body", "options"), [
    ({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}}, {}),
    ({"apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": "p", "namespace": "default"},
      "deleteOptions": {"gracePeriodSeconds": 5}}, {"gracePeriodSeconds": 5}),
    ({"metadata": {"name": "p"}, "deleteOptions": {"preconditions": {"uid": "u1"}}}, {"preconditions": {"uid": "u1"}}),
])
def test_delete_options_of(body: Obj, options: Obj) -> None:
    assert delete_options_of(body, "default", "p", False, WriteOptions()) == options


@pytest.mark.parametrize(("body", "message"), [
    ({"apiVersion": "v1", "kind": "Eviction", "metadata": {"name": "p"}},
     "the API version in the data (v1) does not match the expected API version (policy/v1)"),
    ({"kind": "Pod", "metadata": {"name": "p"}}, "the kind in the data (Pod) does not match the expected kind (Eviction)"),
    ({"metadata": {"name": "q"}}, "name in URL does not match name in Eviction object"),
    ({"metadata": {}}, "name in URL does not match name in Eviction object"),
    ({"metadata": {"name": "p", "namespace": "other"}},
     "the namespace of the provided object does not match the namespace sent on the request"),
    ({"metadata": {"name": "p"}, "deleteOptions": {"gracePeriodSeconds": "soon"}},
     'Eviction in version "v1" cannot be handled as a Eviction: json: cannot unmarshal string into Go struct field '
     "DeleteOptions.deleteOptions.gracePeriodSeconds of type int64"),
    (["not", "an", "object"], "the body of the request was in an unknown format: expected an Eviction object"),
])
def test_delete_options_of_bad_requests(body: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as e:
        delete_options_of(body, "default", "p", False, WriteOptions())
    assert e.value.message == message


def test_delete_options_of_field_validation() -> None:
    body = {"metadata": {"name": "p"}, "spec": {}}
    with pytest.raises(errors.BadRequest, match='unknown field "spec"'):
        delete_options_of(body, "default", "p", False, WriteOptions(field_validation="Strict"))
    opts = WriteOptions(field_validation="Warn")
    assert delete_options_of(body, "default", "p", True, opts) == {"dryRun": ["All"]}
    assert opts.warnings == ['unknown field "spec"']
