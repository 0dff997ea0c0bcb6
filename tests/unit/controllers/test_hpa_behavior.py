"""The HPA's normalization, by the tables of upstream's horizontal_test.go (TestScalingWithRules,
TestNormalizeDesiredReplicas[WithBehavior], TestStoreScaleEvents, TestConvertDesiredReplicasWithRules,
TestCalculateScale{Up,Down}Limit…), with `now` fixed instead of time.Now()."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.hpa_behavior import (
    Recommendation,
    Rules,
    ScaleEvent,
    convert_with_behavior_rate,
    convert_with_rules,
    replicas_change_per_period,
    scale_down_limit,
    scale_down_rules,
    scale_up_limit,
    scale_up_rules,
    stabilize,
    stabilize_with_behaviors,
    store_scale_event,
)

NOW = 100_000.0


def rules(pods: int, pods_period: int, percent: int, percent_period: int, window: int) -> dict[str, Any]:
    """generateScalingRules, as the HPA spec's HPAScalingRules."""
    policies = []
    if pods:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return {"stabilizationWindowSeconds": window, "selectPolicy": "Max", "policies": policies}


def uniform(changes: list[int], period: int) -> list[ScaleEvent]:
    """generateEventsUniformDistribution: each event in the middle of its share of the last `period` seconds."""
    segment = period / len(changes)
    return [ScaleEvent(c, NOW - (period - segment * (i + 1) + segment / 2)) for i, c in enumerate(changes)]


# (name, current, desired, min, max, up rules, down rules, up events, down events, expected, condition)
SCALING_WITH_RULES = [
    ("prenormalized desired replicas within range", 5, 7, 3, 8, None, None, [], [], 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, None, None, [], [], 2, "TooFewReplicas"),
    ("within range when minReplicas is 0", 1, 0, 0, 10, None, None, [], [], 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, None, None, [], [], 10,
     "TooManyReplicas"),
    ("desired replica count is more than the maximum replica count", 100, 1000, 100, 150, None, None, [], [], 150,
     "TooManyReplicas"),
    ("scaleUpLimit is the limit with user policies", 3, 1000, 1, 2000, rules(0, 0, 1, 60, 0), None, [], [], 4,
     "ScaleUpLimit"),
    ("scaleDownLimit is the limit with user defined policies", 1000, 3, 3, 2000, None, rules(20, 60, 0, 0, 0), [], [],
     980, "ScaleDownLimit"),
    ("scaleUp with default behavior", 10, 50, 1, 1000, None, None, [], [], 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", 10, 500, 1, 1000, rules(100, 60, 100, 60, 0), None,
     [], [], 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", 10, 500, 1, 1000, rules(2, 60, 100, 60, 0), None,
     [], [], 20, "ScaleUpLimit"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy", 10, 50, 1, 1000, rules(100, 60, 0, 0, 0),
     None, [], [], 50, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy", 10, 50, 1, 1000,
     rules(10000, 60, 0, 0, 0), None, [], [], 50, "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", 10, 50, 1, 1000, rules(30, 60, 0, 0, 0), None, [], [], 40, "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", 10, 50, 1, 1000, rules(0, 0, 200, 60, 0), None, [], [], 30,
     "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", 100, 2, 1, 1000, None, rules(20, 60, 1, 60, 300),
     [], [], 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", 100, 2, 1, 1000, None, rules(2, 60, 1, 60, 300),
     [], [], 98, "ScaleDownLimit"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy", 10, 0, 1, 1000, None,
     rules(100, 60, 0, 0, 300), [], [], 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy", 10, 2, 5, 1000, None,
     rules(0, 0, 100, 60, 300), [], [], 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", 10, 2, 1, 1000, None, rules(5, 60, 0, 0, 300), [], [], 5,
     "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", 10, 5, 1, 1000, None, rules(0, 0, 50, 60, 300), [], [], 5,
     "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy and events", 100, 500, 1, 200,
     rules(300, 60, 0, 0, 0), None, uniform([1, 5, 9], 120), [], 200, "TooManyReplicas"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy and events", 100, 500, 1, 200,
     rules(0, 0, 10000, 60, 0), None, uniform([1, 5, 9], 120), [], 200, "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with a lot of recent scale up events", 100, 500, 1, 1000,
     rules(5, 120, 0, 0, 0), None, uniform([1, 5, 9], 120), [], 100, "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", 100, 500, 1, 1000, rules(150, 120, 0, 0, 0), None,
     uniform([1, 5, 9], 120), [], 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", 100, 500, 1, 1000, rules(0, 0, 200, 120, 0), None,
     uniform([1, 5, 9], 120), [], 255, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up and down events", 6, 24, 1, 1000, rules(0, 0, 300, 300, 0),
     None, uniform([4], 120), uniform([2], 120), 16, "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", 10, 5, 1, 1000, None, None, [], uniform([1, 5, 9], 120), 5,
     "DesiredWithinRange"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", 100, 0, 1, 1000,
     None, rules(115, 120, 0, 0, 300), [], uniform([1, 5, 9], 120), 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", 100, 0, 5, 1000, None,
     rules(130, 120, 0, 0, 300), [], uniform([1, 5, 9], 120), 5, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy and previous events", 100, 2, 5, 1000,
     None, rules(0, 0, 100, 120, 300), [], uniform([1, 5, 9], 120), 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", 100, 2, 1, 1000, None, rules(5, 120, 0, 0, 300),
     [], uniform([1, 5, 9], 120), 100, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", 100, 0, 1, 1000, None,
     rules(0, 0, 50, 120, 300), [], uniform([2, 4, 6], 120), 56, "ScaleDownLimit"),
    ("scaleDown with percent policy and previous scale up and down events", 10, 1, 1, 1000, None,
     rules(0, 0, 50, 180, 0), uniform([2], 120), uniform([4], 120), 6, "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", 100, 0, 1, 1000, None,
     rules(0, 0, 10, 120, 300), [], uniform([10, 10, 10], 120), 100, "ScaleDownLimit"),
    ("scaleDown with previous events still allowing more scale down", 10, 5, 1, 1000, None,
     rules(0, 0, 1000, 120, 300), [], uniform([10, 10, 10], 120), 5, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for up", 100, 200, 1, 1000, rules(1000, 60, 0, 0, 0), None,
     uniform([8, 12, 9, 11], 120), [], 200, "DesiredWithinRange"),
    ("events not marked 'outdated' for two different policies for up", 100, 200, 1, 1000,
     rules(1000, 120, 100, 60, 0), None, uniform([8, 12, 9, 11], 120), [], 200, "DesiredWithinRange"),
    ("events marked 'outdated' for two different policies for up", 100, 200, 1, 1000, rules(1000, 30, 100, 60, 0),
     None, uniform([8, 12, 9, 11], 120), [], 200, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for down", 100, 5, 1, 1000, None,
     rules(1000, 60, 0, 0, 300), [], uniform([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
    ("events not marked 'outdated' for two different policies for down", 100, 5, 1, 1000, None,
     rules(1000, 120, 100, 60, 300), [], uniform([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
    ("events marked 'outdated' for two different policies for down", 100, 5, 1, 1000, None,
     rules(1000, 30, 100, 60, 300), [], uniform([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
]


@pytest.mark.parametrize("name, current, desired, min_r, max_r, up, down, up_events, down_events, expected, reason",
                         SCALING_WITH_RULES, ids=[c[0] for c in SCALING_WITH_RULES])
def test_scaling_with_rules(name: str, current: int, desired: int, min_r: int, max_r: int, up: dict[str, Any] | None,
                            down: dict[str, Any] | None, up_events: list[ScaleEvent], down_events: list[ScaleEvent],
                            expected: int, reason: str) -> None:
    got, got_reason, _ = convert_with_behavior_rate(current, desired, min_r, max_r, scale_up_rules(up),
                                                    scale_down_rules(down, 300), up_events, down_events, NOW)
    assert (got, got_reason) == (expected, reason)


@pytest.mark.parametrize("current, desired, min_r, max_r, expected, reason", [
    (5, 7, 3, 8, 7, "DesiredWithinRange"),
    (3, 1, 2, 8, 2, "TooFewReplicas"),
    (1, 0, 0, 10, 0, "DesiredWithinRange"),
    (20, 1000, 1, 10, 10, "TooManyReplicas"),
    (3, 1000, 1, 2000, 6, "ScaleUpLimit"),  # calculateScaleUpLimit(3) = max(2 × 3, 4)
    (1, 1000, 1, 2000, 4, "ScaleUpLimit"),
])
def test_convert_desired_replicas_with_rules(current: int, desired: int, min_r: int, max_r: int, expected: int,
                                             reason: str) -> None:
    assert convert_with_rules(current, desired, min_r, max_r)[:2] == (expected, reason)


MIN_RULES = Rules(300, "Min", tuple(scale_up_rules({"policies": [
    {"type": "Pods", "value": 2, "periodSeconds": 60}, {"type": "Percent", "value": 50, "periodSeconds": 60}]}).policies))


def test_scale_limits_with_min_policy() -> None:
    """TestCalculateScaleUpLimitWithScalingRules and TestCalculateScaleDownLimitWithBehaviors."""
    assert scale_up_limit(1, [], [], MIN_RULES, NOW) == 2
    assert scale_down_limit(5, [], [], MIN_RULES, NOW) == 3


def test_disabled_policy_keeps_the_current_count() -> None:
    disabled = scale_down_rules({"selectPolicy": "Disabled"}, 300)
    assert convert_with_behavior_rate(10, 2, 1, 20, scale_up_rules(None), disabled, [], [], NOW) == (
        10, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")


def test_rule_defaults() -> None:
    """GenerateHPAScale{Up,Down}Rules: fields not set take the defaults; the scale-down window is the controller's."""
    up = scale_up_rules({"stabilizationWindowSeconds": 60})
    assert (up.stabilization_seconds, up.select_policy, [(p.type, p.value, p.period_seconds) for p in up.policies]) == \
        (60, "Max", [("Pods", 4, 15), ("Percent", 100, 15)])
    down = scale_down_rules({"policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}, 300)
    assert (down.stabilization_seconds, down.select_policy, [(p.type, p.value) for p in down.policies]) == \
        (300, "Max", [("Pods", 1)])
    assert scale_down_rules(None, 300).policies[0].type == "Percent"
    assert scale_down_rules({"stabilizationWindowSeconds": 0}, 300).stabilization_seconds == 0


def recs(*pairs: tuple[int, float]) -> list[Recommendation]:
    return [Recommendation(r, NOW - ago) for r, ago in pairs]


@pytest.mark.parametrize("name, recommendations, desired, expected, log_length", [
    ("empty log", [], 5, 5, 1),
    ("stabilize", recs((4, 120), (5, 60)), 3, 5, 3),
    ("no stabilize", recs((1, 120), (2, 60)), 3, 3, 3),
    ("no stabilize - old recommendations", recs((10, 600), (9, 540)), 3, 3, 2),
    ("stabilize - old recommendations", recs((10, 600), (4, 60), (5, 120), (9, 540)), 3, 5, 4),
])
def test_normalize_desired_replicas(name: str, recommendations: list[Recommendation], desired: int, expected: int,
                                    log_length: int) -> None:
    got, after = stabilize(recommendations, desired, 300, NOW)
    assert got == expected
    assert len(after) == log_length
    assert Recommendation(desired, NOW) in after


@pytest.mark.parametrize("name, recommendations, current, desired, expected, stored, up_window, down_window", [
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", recs((4, 120), (5, 60)), 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", recs((4, 120), (5, 60)), 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", recs((1, 120), (2, 60)), 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", recs((4, 120), (5, 60)), 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", recs((10, 600), (9, 540)), 100, 3, 3, [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", recs((10, 600), (9, 540)), 1, 100, 100, [10, 100], 0,
     0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     recs((10, 600), (4, 60), (5, 120), (9, 540)), 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     recs((10, 6000), (6, 60), (5, 120), (9, 180)), 1, 100, 5, [100, 6, 5, 9], 300, 0),
    ("do not scale up when prenormalized rec goes down", recs((2, 6000), (3, 180)), 2, 1, 2, None, 300, 300),
    ("do not scale down when prenormalized rec goes up", recs((2, 6000), (1, 180)), 2, 3, 2, None, 300, 300),
])
def test_normalize_desired_replicas_with_behavior(name: str, recommendations: list[Recommendation], current: int,
                                                  desired: int, expected: int, stored: list[int] | None,
                                                  up_window: int, down_window: int) -> None:
    got, _, _, after = stabilize_with_behaviors(recommendations, desired, current, up_window, down_window, NOW)
    assert got == expected
    if stored is not None:
        assert [r.replicas for r in after] == stored


# (name, change, previous events as (change, seconds ago), rules, expected change in the last 60 s, new events)
STORE_CASES = [
    ("two-policy behavior, empty", 5, [], rules(10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one outdated entry to be replaced", 5, [(7, 61)], rules(10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one actual entry to be not touched", 5, [(7, 58)], rules(10, 60, 100, 60, 0), 7, [(7, False), (5, False)]),
    ("two entries, one of them to be replaced", 5, [(7, 61), (6, 59)], rules(10, 60, 0, 0, 0), 6,
     [(5, False), (6, False)]),
    ("replace one entry, use policies with different periods", 5, [(8, 29), (6, 59), (7, 61), (9, 61)],
     rules(10, 60, 100, 30, 0), 14, [(8, False), (6, False), (7, True), (5, False)]),
    ("two entries, both actual", 5, [(7, 58), (6, 59)], rules(10, 120, 100, 30, 0), 13,
     [(7, False), (6, False), (5, False)]),
]


@pytest.mark.parametrize("name, change, previous, raw_rules, in_period, expected", STORE_CASES,
                         ids=[c[0] for c in STORE_CASES])
def test_store_scale_events(name: str, change: int, previous: list[tuple[int, float]], raw_rules: dict[str, Any],
                            in_period: int, expected: list[tuple[int, bool]]) -> None:
    events = [ScaleEvent(c, NOW - ago) for c, ago in previous]
    assert replicas_change_per_period(60, events, NOW) == in_period
    after = store_scale_event(events, scale_up_rules(raw_rules), change, NOW)
    assert [(e.change, e.outdated) for e in after] == expected
