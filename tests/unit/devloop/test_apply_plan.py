"""Deciding a pass, as tables: previous state + files as saved → what to apply, what to prune, and
the state after; and API errors → file:line field message."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s import errors
from boxk8s.devloop.apply import PENDING, UNOWNED, AppliedState, ApplyPlan, Prune, api_problems, plan_changes
from boxk8s.devloop.manifests import ManifestError, Manifests, ObjectKey, parse_manifest

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n"
NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
BROKEN = "kind: [\n"


def cm(name: str, value: str = "v") -> str:
    return CM.format(name=name, value=value)


def ns(name: str) -> str:
    return NS.format(name=name)


def files(**texts: str) -> Manifests:
    """Manifests from {file stem: text}; a stem `a` is the file `a.yaml`."""
    return Manifests(("m",), tuple(parse_manifest(f"{stem}.yaml", text) for stem, text in texts.items()))


def key(name: str, kind: str = "ConfigMap") -> ObjectKey:
    return ObjectKey("", kind, "" if kind == "Namespace" else "default", name)


def applied(m: Manifests) -> AppliedState:
    """The state after everything in `m` was applied."""
    return plan_changes(AppliedState(), m).state


def summary(plan: ApplyPlan) -> dict[str, Any]:
    return {
        "apply": [(d.file, d.key.name) for d in plan.apply],
        "prune": [(p.file, p.key.name) for p in plan.prune],
        "broken": sorted(plan.broken),
    }


CASES: list[tuple[str, AppliedState, Manifests, dict[str, Any]]] = [
    ("first pass: everything", AppliedState(), files(a=cm("one") + "---\n" + cm("two"), b=cm("three")),
     {"apply": [("a.yaml", "one"), ("a.yaml", "two"), ("b.yaml", "three")], "prune": [], "broken": []}),
    ("nothing changed: nothing sent", applied(files(a=cm("one"))), files(a=cm("one")),
     {"apply": [], "prune": [], "broken": []}),
    ("one document changed: only it", applied(files(a=cm("one") + "---\n" + cm("two"))),
     files(a=cm("one") + "---\n" + cm("two", "changed")),
     {"apply": [("a.yaml", "two")], "prune": [], "broken": []}),
    ("a document removed: pruned", applied(files(a=cm("one") + "---\n" + cm("two"), b=cm("three"))),
     files(a=cm("one"), b=cm("three")),
     {"apply": [], "prune": [("a.yaml", "two")], "broken": []}),
    ("a file removed: its objects pruned", applied(files(a=cm("one"), b=cm("two"))), files(a=cm("one")),
     {"apply": [], "prune": [("b.yaml", "two")], "broken": []}),
    ("a broken file: nothing applied or pruned from it", applied(files(a=cm("one") + "---\n" + cm("two"), b=cm("x"))),
     files(a=cm("one", "changed") + "---\n" + BROKEN, b=cm("x", "changed")),
     {"apply": [("b.yaml", "x")], "prune": [], "broken": ["a.yaml"]}),
    ("a document moved to another file: applied there, not pruned",
     applied(files(a=cm("one") + "---\n" + cm("two"), b=cm("three"))),
     files(a=cm("one"), b=cm("three") + "---\n" + cm("two")),
     {"apply": [("b.yaml", "two")], "prune": [], "broken": []}),
    ("what a broken file's last good state holds is not pruned",
     AppliedState({"a.yaml": {key("one"): PENDING, key("two"): "d2"}, "b.yaml": {key("two"): "d2"}}),
     files(a=cm("one"), b=BROKEN),
     {"apply": [("a.yaml", "one")], "prune": [], "broken": ["b.yaml"]}),
    ("namespaces first, pruned last", applied(files(a=ns("old") + "---\n" + cm("gone"))),
     files(a=cm("new") + "---\n" + ns("shop")),
     {"apply": [("a.yaml", "shop"), ("a.yaml", "new")], "prune": [("a.yaml", "gone"), ("a.yaml", "old")],
      "broken": []}),
    ("after a restart: members no file holds are pruned", AppliedState(unowned=frozenset({key("one"), key("gone")})),
     files(a=cm("one")),
     {"apply": [("a.yaml", "one")], "prune": [(UNOWNED, "gone")], "broken": []}),
    ("after a restart with a broken file: nothing unowned is pruned",
     AppliedState(unowned=frozenset({key("one"), key("maybe-b")})), files(a=cm("one"), b=BROKEN),
     {"apply": [("a.yaml", "one")], "prune": [], "broken": ["b.yaml"]}),
    ("one object in two documents: the later file is refused", AppliedState(),
     files(a=cm("one"), b=cm("two") + "---\n" + cm("one", "other")),
     {"apply": [("a.yaml", "one")], "prune": [], "broken": ["b.yaml"]}),
    ("a document carrying the part-of label is refused",
     AppliedState(), files(a=cm("one").replace("metadata:\n", "metadata:\n  labels:\n    "
                                                  "applyset.kubernetes.io/part-of: x\n"), b=cm("two")),
     {"apply": [("b.yaml", "two")], "prune": [], "broken": ["a.yaml"]}),
]


@pytest.mark.parametrize(("previous", "current", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan(previous: AppliedState, current: Manifests, expected: dict[str, Any]) -> None:
    assert summary(plan_changes(previous, current)) == expected


def test_a_broken_file_keeps_its_last_good_state() -> None:
    before = applied(files(a=cm("one") + "---\n" + cm("two"), b=cm("x")))
    plan = plan_changes(before, files(a=BROKEN, b=cm("x")))
    assert plan.state.files["a.yaml"] == before.files["a.yaml"]
    assert [e.file for e in plan.broken["a.yaml"]] == ["a.yaml"]
    # the next good save is planned against that state
    later = plan_changes(plan.state, files(a=cm("one", "changed"), b=cm("x")))
    assert summary(later) == {"apply": [("a.yaml", "one")], "prune": [("a.yaml", "two")], "broken": []}


def test_a_duplicate_names_where_the_object_is_already() -> None:
    plan = plan_changes(AppliedState(), files(a=cm("one") + "---\n" + cm("one", "again")))
    assert [str(e) for e in plan.broken["a.yaml"]] == ["a.yaml:8: ConfigMap default/one is also at a.yaml:1"]


def test_a_new_broken_file_has_no_state() -> None:
    plan = plan_changes(AppliedState(), files(a=BROKEN))
    assert "a.yaml" not in plan.state.files and plan.apply == () and plan.prune == ()


def test_files_the_api_server_rejected_count_as_broken() -> None:
    before = applied(files(a=cm("one") + "---\n" + cm("two")))
    problem = ManifestError("a.yaml", 7, "Invalid value", field="data")
    plan = plan_changes(before, files(a=cm("one", "changed")), rejected={"a.yaml": [problem]})
    assert summary(plan) == {"apply": [], "prune": [], "broken": ["a.yaml"]}
    assert plan.broken["a.yaml"] == (problem,)
    assert plan.state.files["a.yaml"] == before.files["a.yaml"]


def test_the_state_records_digests_and_owners() -> None:
    m = files(a=cm("one"))
    plan = plan_changes(AppliedState(unowned=frozenset({key("one"), key("other")})), m)
    assert dict(plan.state.files["a.yaml"]) == {key("one"): m.files[0].documents[0].digest}
    assert plan.state.unowned == frozenset()  # `other` pruned, `one` owned by a.yaml now
    assert plan.state.members() == {key("one")}


def test_unowned_members_claimed_by_a_file_leave_the_unowned_set_even_when_a_file_is_broken() -> None:
    plan = plan_changes(AppliedState(unowned=frozenset({key("one"), key("maybe-b")})), files(a=cm("one"), b=BROKEN))
    assert plan.state.unowned == frozenset({key("maybe-b")})


def test_failed_writes_stay_to_be_done() -> None:
    before = applied(files(a=cm("one") + "---\n" + cm("two") + "---\n" + cm("three")))
    plan = plan_changes(AppliedState(before.files, frozenset({key("lost")})),
                        files(a=cm("one", "changed") + "---\n" + cm("two")))
    assert summary(plan)["prune"] == [("a.yaml", "three"), (UNOWNED, "lost")]
    one = plan.apply[0]
    state = plan.settle(failed_applies=[one], failed_prunes=list(plan.prune))
    assert state.files["a.yaml"][key("one")] == PENDING  # applied again next pass, whatever its digest
    assert state.files["a.yaml"][key("three")] == PENDING  # still to prune
    assert state.unowned == frozenset({key("lost")})
    again = plan_changes(state, files(a=cm("one", "changed") + "---\n" + cm("two")))
    assert summary(again) == {"apply": [("a.yaml", "one")], "prune": [("a.yaml", "three"), (UNOWNED, "lost")],
                              "broken": []}


def test_a_failed_prune_of_a_removed_file_is_tried_again() -> None:
    before = applied(files(a=cm("one"), b=cm("two")))
    plan = plan_changes(before, files(a=cm("one")))
    assert plan.prune == (Prune(key("two"), "b.yaml"),)
    state = plan.settle(failed_prunes=plan.prune)
    assert summary(plan_changes(state, files(a=cm("one"))))["prune"] == [("b.yaml", "two")]


# ---- API errors → where --------------------------------------------------------------------------

DEPLOY = parse_manifest("d.yaml", (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
    "spec:\n  replicas: x\n  replicass: 3\n  template:\n    spec:\n      containers:\n      - name: a\n"
    "        image: ''\n")).documents[0]


@pytest.mark.parametrize(("error", "problems"), [
    # an Invalid Status: one per cause, at the line of its field
    (errors.invalid("apps", "Deployment", "web", [
        {"reason": "FieldValueRequired", "field": "spec.template.spec.containers[0].image", "message": "Required value"},
        {"reason": "FieldValueInvalid", "field": "spec.selector", "message": "Required value"},
        {"reason": "FieldValueInvalid", "message": "no field"}]),
     [("d.yaml", 13, "spec.template.spec.containers[0].image", "Required value"),
      ("d.yaml", 6, "spec.selector", "Required value"),  # not written: its nearest parent, spec
      ("d.yaml", 1, "", "no field")]),
    # strict field validation: each unknown field
    (errors.BadRequest('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
                       'unknown field "spec.replicass", unknown field "spec.foo"'),
     [("d.yaml", 8, "spec.replicass", 'unknown field "spec.replicass"'),
      ("d.yaml", 6, "spec.foo", 'unknown field "spec.foo"')]),
    # a decoding (type) error: the Go field path
    (errors.BadRequest('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
                       "string into Go struct field DeploymentSpec.spec.replicas of type int32"),
     [("d.yaml", 7, "spec.replicas",
       "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")]),
    (errors.not_found("", "namespaces", "shop"), [("d.yaml", 5, "metadata.namespace", 'namespaces "shop" not found')]),
    (errors.Forbidden("nope"), [("d.yaml", 1, "", "nope")]),
])
def test_api_errors_point_at_their_field(error: errors.ApiError, problems: list[tuple[str, int, str, str]]) -> None:
    assert [(p.file, p.line, p.field, p.message) for p in api_problems(DEPLOY, error)] == problems
