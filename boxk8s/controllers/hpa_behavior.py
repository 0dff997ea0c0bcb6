"""From the metrics' desired count to the count the HPA sets: upstream's normalization in
horizontal.go (stabilizeRecommendation[WithBehaviors], convertDesiredReplicasWithRules,
convertDesiredReplicasWithBehaviorRate, calculateScale{Up,Down}Limit…, storeScaleEvent) and
the `behavior` defaults of pkg/apis/autoscaling/v2/defaults.go (GenerateHPAScale{Up,Down}Rules).

Pure: the controller keeps each HPA's recommendations and scale events and passes them in
with the time; every function returns the new lists instead of changing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

MAX_POLICY, MIN_POLICY, DISABLED_POLICY = "Max", "Min", "Disabled"
PODS_POLICY, PERCENT_POLICY = "Pods", "Percent"
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2.0, 4.0  # without a behavior


@dataclass(frozen=True)
class Policy:
    type: str
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Rules:
    """HPAScalingRules with its defaults filled in."""

    stabilization_seconds: int
    select_policy: str
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    timestamp: float


@dataclass(frozen=True)
class ScaleEvent:
    change: int  # absolute value
    timestamp: float
    outdated: bool = False


def _policies(raw: list[dict[str, Any]]) -> tuple[Policy, ...]:
    return tuple(Policy(p.get("type", ""), int(p.get("value", 0)), int(p.get("periodSeconds", 0))) for p in raw)


def scale_up_rules(raw: dict[str, Any] | None) -> Rules:
    """GenerateHPAScaleUpRules: no stabilization, Max of +4 pods and +100% per 15 s, each field
    of `raw` that is set replacing the default."""
    raw = raw or {}
    return Rules(
        int(raw["stabilizationWindowSeconds"]) if raw.get("stabilizationWindowSeconds") is not None else 0,
        raw.get("selectPolicy") or MAX_POLICY,
        _policies(raw["policies"]) if raw.get("policies") is not None else (
            Policy(PODS_POLICY, 4, 15), Policy(PERCENT_POLICY, 100, 15)),
    )


def scale_down_rules(raw: dict[str, Any] | None, default_stabilization_seconds: int) -> Rules:
    """GenerateHPAScaleDownRules: Max of -100% per 15 s; the stabilization window, when not
    set, is the controller's --horizontal-pod-autoscaler-downscale-stabilization (300 s:
    maybeInitScaleDownStabilizationWindow)."""
    raw = raw or {}
    window = raw.get("stabilizationWindowSeconds")
    return Rules(
        int(window) if window is not None else default_stabilization_seconds,
        raw.get("selectPolicy") or MAX_POLICY,
        _policies(raw["policies"]) if raw.get("policies") is not None else (Policy(PERCENT_POLICY, 100, 15),),
    )


# --- stabilization ---------------------------------------------------------------------------

def stabilize(recommendations: list[Recommendation], desired: int, window: float, now: float
              ) -> tuple[int, list[Recommendation]]:
    """stabilizeRecommendation (no behavior): the highest recommendation of the last `window`
    seconds, this one included; it replaces one older than the window, else is appended."""
    cutoff = now - window
    highest, old_index = desired, None
    for i, rec in enumerate(recommendations):
        if rec.timestamp < cutoff:
            old_index = i
        elif rec.replicas > highest:
            highest = rec.replicas
    return highest, _record(recommendations, old_index, Recommendation(desired, now))


def _record(recommendations: list[Recommendation], old_index: int | None, new: Recommendation
            ) -> list[Recommendation]:
    out = list(recommendations)
    if old_index is not None:
        out[old_index] = new
    else:
        out.append(new)
    return out


def stabilize_with_behaviors(recommendations: list[Recommendation], desired: int, current: int,
                             up_window: int, down_window: int, now: float
                             ) -> tuple[int, str, str, list[Recommendation]]:
    """stabilizeRecommendationWithBehaviors: never above the lowest recommendation of the
    scale-up window nor below the highest of the scale-down window (the current count in
    between). Returns (replicas, reason, message, recommendations)."""
    up_cutoff, down_cutoff = now - up_window, now - down_window
    up, down, old_index = desired, desired, None
    for i, rec in enumerate(recommendations):
        if rec.timestamp > up_cutoff:
            up = min(rec.replicas, up)
        if rec.timestamp > down_cutoff:
            down = max(rec.replicas, down)
        if rec.timestamp < up_cutoff and rec.timestamp < down_cutoff:
            old_index = i
    replicas = min(max(current, up), down)
    if desired >= current:
        reason = "ScaleUpStabilized"
        message = "recent recommendations were lower than current one, applying the lowest recent recommendation"
    else:
        reason = "ScaleDownStabilized"
        message = "recent recommendations were higher than current one, applying the highest recent recommendation"
    return replicas, reason, message, _record(recommendations, old_index, Recommendation(desired, now))


# --- rate limits -----------------------------------------------------------------------------

WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")


def _upper_bound(rate_limit: int, max_replicas: int) -> tuple[int, str, str]:
    """The most replicas allowed, and why: the rate limit, or maxReplicas when it is lower."""
    if max_replicas > rate_limit:
        return rate_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    return max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"


def convert_with_rules(current: int, desired: int, min_replicas: int, max_replicas: int) -> tuple[int, str, str]:
    """convertDesiredReplicasWithRules (no behavior): between minReplicas and the lower of
    maxReplicas and max(2 × current, 4)."""
    maximum, reason, message = _upper_bound(int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM)),
                                            max_replicas)
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired > maximum:
        return maximum, reason, message
    return (desired, *WITHIN_RANGE)


def replicas_change_per_period(period_seconds: int, events: list[ScaleEvent], now: float) -> int:
    """getReplicasChangePerPeriod: replicas added (or removed) in the last period."""
    cutoff = now - period_seconds
    return sum(e.change for e in events if e.timestamp > cutoff)


def _policy_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Rules,
                  now: float, up: bool) -> int:
    """calculateScaleUpLimitWithScalingRules (`up`) and calculateScaleDownLimitWithBehaviors: each
    policy's limit counted from the replicas at the start of its period; the policies' largest
    change (selectPolicy Max) or smallest (Min). Disabled: the current count."""
    if rules.select_policy == DISABLED_POLICY:
        return current
    most_change = rules.select_policy != MIN_POLICY
    pick = max if most_change == up else min
    limits = []
    for policy in rules.policies:
        start = (current - replicas_change_per_period(policy.period_seconds, up_events, now)
                 + replicas_change_per_period(policy.period_seconds, down_events, now))
        if policy.type == PODS_POLICY:
            limits.append(start + policy.value if up else start - policy.value)
        elif policy.type == PERCENT_POLICY and up:
            # rounded up: a small percentage of a few pods still adds one
            limits.append(math.ceil(start * (1 + policy.value / 100)))
        elif policy.type == PERCENT_POLICY:
            limits.append(int(start * (1 - policy.value / 100)))  # Go's int32(): towards zero
    if not limits:  # upstream starts from MinInt32 / MaxInt32
        return -(2**31) if pick is max else 2**31 - 1
    return pick(limits)


def scale_up_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Rules,
                   now: float) -> int:
    """The most replicas the scale-up policies allow now."""
    return _policy_limit(current, up_events, down_events, rules, now, up=True)


def scale_down_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Rules,
                     now: float) -> int:
    """The fewest replicas the scale-down policies allow now."""
    return _policy_limit(current, up_events, down_events, rules, now, up=False)


def convert_with_behavior_rate(current: int, desired: int, min_replicas: int, max_replicas: int,
                               up: Rules, down: Rules, up_events: list[ScaleEvent],
                               down_events: list[ScaleEvent], now: float) -> tuple[int, str, str]:
    """convertDesiredReplicasWithBehaviorRate: the policies' limit for the direction, and the
    min/max replicas."""
    if desired > current:
        limit = max(scale_up_limit(current, up_events, down_events, up, now), current)
        maximum, reason, message = _upper_bound(limit, max_replicas)
        if desired > maximum:
            return maximum, reason, message
    elif desired < current:
        limit = min(scale_down_limit(current, up_events, down_events, down, now), current)
        if min_replicas < limit:
            minimum = limit
            reason, message = ("ScaleDownLimit",
                               "the desired replica count is decreasing faster than the maximum scale rate")
        else:
            minimum = min_replicas
            reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        if desired < minimum:
            return minimum, reason, message
    return (desired, *WITHIN_RANGE)


def store_scale_event(events: list[ScaleEvent], rules: Rules, change: int, now: float) -> list[ScaleEvent]:
    """storeScaleEvent for one direction: events older than the longest policy period are marked
    outdated and one of them is reused for the new event, else it is appended."""
    longest = max((p.period_seconds for p in rules.policies), default=0)
    cutoff = now - longest
    out = [replace(e, outdated=True) if e.timestamp < cutoff else e for e in events]
    new = ScaleEvent(change, now)
    reuse = next((i for i in range(len(out) - 1, -1, -1) if out[i].outdated), None)  # upstream keeps the last
    if reuse is not None:
        out[reuse] = new
    else:
        out.append(new)
    return out
