"""client-go's event correlation: the spam filter's token bucket and the aggregation threshold."""

from __future__ import annotations

from boxk8s.events import AGGREGATE_MAX_EVENTS, SPAM_BURST, EventCorrelator

SOURCE = ("replicaset-controller", "", "ReplicaSet", "default", "web-1", "u-1", "apps/v1")
OTHER = ("replicaset-controller", "", "ReplicaSet", "default", "web-2", "u-2", "apps/v1")


def test_a_burst_of_25_then_one_every_five_minutes() -> None:
    c = EventCorrelator()
    assert [c.allow(SOURCE, 0.0) for _ in range(SPAM_BURST + 3)] == [True] * SPAM_BURST + [False] * 3
    assert c.allow(OTHER, 0.0)  # another object has its own budget
    assert not c.allow(SOURCE, 299.0)
    assert c.allow(SOURCE, 301.0)
    assert not c.allow(SOURCE, 302.0)
    assert [c.allow(SOURCE, 100_000.0) for _ in range(SPAM_BURST + 1)] == [True] * SPAM_BURST + [False]


def test_similar_events_combine_from_the_tenth_message() -> None:
    c = EventCorrelator()
    similar = (*SOURCE, "Normal", "SuccessfulCreate")
    combined = [c.aggregate(similar, f"Created pod: web-1-{i}", float(i)) for i in range(14)]
    assert combined == [False] * (AGGREGATE_MAX_EVENTS - 1) + [True] * 5
    assert not c.aggregate((*SOURCE, "Normal", "SuccessfulDelete"), "Deleted pod: x", 14.0)  # another reason
    assert not c.aggregate((*OTHER, "Normal", "SuccessfulCreate"), "Created pod: y", 14.0)  # another object
    # ten minutes without a similar event: counting starts over
    assert not c.aggregate(similar, "Created pod: web-1-99", 14.0 + 601)


def test_the_same_message_again_is_not_combined() -> None:
    c = EventCorrelator()
    similar = (*SOURCE, "Warning", "BackOff")
    assert not any(c.aggregate(similar, "Back-off restarting failed container", float(i)) for i in range(30))
