"""Waiting on a condition with a deadline — the one way integration tests synchronise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from boxk8s import errors

NOT_YET = (AssertionError, KeyError, IndexError, StopIteration, errors.NotFound)


async def wait_for_condition(check: Callable[[], Awaitable[Any]], deadline: float, interval: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy; an assertion or a missing object inside
    counts as 'not yet'. Fails with the last reason at the deadline."""
    last: BaseException | None = None
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while loop.time() < end:
        try:
            got = await check()
            if got:
                return got
        except NOT_YET as e:
            last = e
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {deadline}s: {last!r}")
