"""The crash soak's checks (tests/e2e/soak/model.py) catch what they are meant to catch."""

from __future__ import annotations

import random

import pytest

from tests.e2e.soak.model import (
    Container,
    Op,
    PodView,
    Row,
    State,
    check_not_restarted,
    check_rows,
    check_state,
    check_watch,
    plan_containers,
    plan_op,
    resolve_unknown,
)

BEFORE = State(10, {"seq": "1"})
AFTER = {"seq": "2"}


def op(verb: str, before: State | None = BEFORE, intended: dict[str, str] | None = None) -> Op:
    return Op(0, 0, "configmaps", "soak-c0-co0", verb, before, intended)


@pytest.mark.parametrize(("unanswered", "observed", "verdict"), [
    (op("update", intended=AFTER), BEFORE, "not-applied"),
    (op("update", intended=AFTER), State(12, AFTER), "applied"),
    (op("update", intended=AFTER), State(12, {"seq": "3"}), "half-done"),  # someone else's value
    (op("update", intended=AFTER), State(10, AFTER), "half-done"),  # new value under the old revision
    (op("update", intended=AFTER), None, "half-done"),  # gone
    (op("patch", intended=AFTER), State(11, {"seq": "1", "pad": ""}), "half-done"),  # half a patch
    (op("create", before=None, intended=AFTER), None, "not-applied"),
    (op("create", before=None, intended=AFTER), State(3, AFTER), "applied"),
    (op("delete"), None, "applied"),
    (op("delete"), BEFORE, "not-applied"),
    (op("stale-update"), BEFORE, "not-applied"),
    (op("stale-update"), State(11, AFTER), "half-done"),  # a write that must be refused happened
])
def test_an_unanswered_write_is_whole_or_absent(unanswered: Op, observed: State | None, verdict: str) -> None:
    got, problem = resolve_unknown(unanswered, observed)
    assert got == verdict
    assert bool(problem) == (verdict == "half-done")


def test_the_state_must_be_what_the_last_answer_said() -> None:
    key = ("configmaps", "a")
    assert check_state({key: BEFORE}, {key: BEFORE}) == []
    assert check_state({key: BEFORE}, {}) != []  # lost
    assert check_state({key: BEFORE}, {key: State(9, BEFORE.content)}) != []  # an older revision
    assert check_state({}, {key: BEFORE}) != []  # a write never acknowledged nor pending


def test_every_acknowledged_write_has_its_row() -> None:
    rows = {5: Row(5, "/k/a", True, False), 6: Row(6, "/k/a", False, True)}
    assert check_rows([("/k/a", 5, False), ("/k/a", 6, True)], rows, 0) == []
    assert check_rows([("/k/a", 7, False)], rows, 0) != []  # lost
    assert check_rows([("/k/b", 5, False)], rows, 0) != []  # another key's row
    assert check_rows([("/k/a", 5, True)], rows, 0) != []  # a delete recorded as a write
    assert check_rows([("/k/a", 3, False)], rows, 4) == []  # compacted away


def test_the_watch_sees_each_row_once_in_order() -> None:
    rows = [Row(5, "/p/a", True, False), Row(6, "/p/a", False, False), Row(8, "/p/a", False, True)]
    assert check_watch([(5, "ADDED", "a"), (6, "MODIFIED", "a"), (8, "DELETED", "a")], rows) == []
    assert check_watch([(5, "ADDED", "a"), (8, "DELETED", "a")], rows) != []  # a gap
    assert check_watch([(5, "ADDED", "a"), (6, "MODIFIED", "a"), (6, "MODIFIED", "a"), (8, "DELETED", "a")],
                       rows) != []  # twice
    assert check_watch([(6, "MODIFIED", "a"), (5, "ADDED", "a"), (8, "DELETED", "a")], rows) != []  # order
    assert check_watch([(5, "ADDED", "a"), (6, "MODIFIED", "a"), (8, "MODIFIED", "a")], rows) != []  # type
    assert check_watch([(5, "ADDED", "a"), (6, "MODIFIED", "a"), (7, "ADDED", "b"), (8, "DELETED", "a")],
                       rows) != []  # no row


def running(cid: str, uid: str, name: str, started: str = "t0") -> Container:
    return Container(cid, uid, name, "running", started)


AGENT = running("agent", "", "")
NAMES = {"POD", "app"}


def pod(uid: str, **containers: tuple[str, int]) -> PodView:
    return PodView(uid, f"pod-{uid}", dict(containers), True, False)


def test_containers_converge_to_the_pods() -> None:
    pods = [pod("u1")]
    ok = [AGENT, running("s1", "u1", "POD"), running("a1", "u1", "app")]
    assert plan_containers(pods, ok, NAMES) == []
    assert plan_containers(pods, [*ok, running("x", "gone", "app")], NAMES) != []  # orphan
    assert plan_containers(pods, [*ok, running("a2", "u1", "app")], NAMES) != []  # duplicate
    assert plan_containers(pods, ok[:2], NAMES) != []  # missing
    assert plan_containers(pods, ok[1:], NAMES) != []  # no network agent
    assert plan_containers(pods, [*ok, running("agent2", "", "")], NAMES) != []  # two


def test_running_containers_are_kept_across_the_restart() -> None:
    before = {("u1", "app"): running("a1", "u1", "app")}
    now = [running("a1", "u1", "app")]
    assert check_not_restarted(before, [pod("u1", app=("a1", 0))], now) == []
    assert check_not_restarted(before, [pod("u1", app=("a1", 1))], now) != []  # restartCount
    assert check_not_restarted(before, [pod("u1", app=("a2", 0))], [running("a2", "u1", "app")]) != []  # replaced
    assert check_not_restarted(before, [pod("u1", app=("a1", 0))], [running("a1", "u1", "app", "t1")]) != []
    assert check_not_restarted(before, [pod("u1", app=("other", 0))], now) != []  # the API names another
    assert check_not_restarted(before, [], []) == []  # the pod is gone: nothing to keep


def test_plan_op_makes_every_kind_of_write() -> None:
    rng = random.Random(1)
    verbs = {plan_op(kind, "n", state, 0, seq, rng, 0).verb
             for seq in range(400) for kind in ("configmaps", "secrets", "leases") for state in (None, BEFORE)}
    assert verbs == {"create", "update", "patch", "delete", "stale-update", "bad-create", "invalid-update",
                     "bad-delete"}
