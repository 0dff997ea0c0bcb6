"""A cluster running in the background of a block: for tests and benchmarks that drive it in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from boxk8s.cluster.components import Components, assemble
from boxk8s.cluster.supervisor import supervise
from boxk8s.config import ClusterSettings


@contextlib.asynccontextmanager
async def running(settings: ClusterSettings, **options: Any) -> AsyncIterator[Components]:
    """assemble(settings, **options), supervised until the block ends; yields once everything started.

    A component that fails while the block runs cancels the block, as it would stop `boxk8s up`."""
    async with contextlib.AsyncExitStack() as stack:
        components = await assemble(settings, stack, **options)
        stop, ready = asyncio.Event(), asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(supervise(components, stop, lambda _port: ready.set()), name="supervisor")
            await ready.wait()
            try:
                yield components
            finally:
                stop.set()
