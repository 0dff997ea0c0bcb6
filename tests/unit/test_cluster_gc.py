"""The cluster raises the garbage collector's young-generation threshold, never lowers it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from boxk8s.cluster import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_raises_the_default(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)


def test_keeps_a_higher_one(thresholds: None) -> None:
    gc.set_threshold(GC_YOUNG_THRESHOLD * 2, 5, 20)
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD * 2, 5, 20)
