"""Helper for test_restart: write forever with concurrent tasks, print each acknowledged key.

Usage: python -m tests.unit.store.writer_proc DB_PATH
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from boxk8s.store import Store, StoreSettings

TASKS = 8


async def main(path: Path) -> None:
    store = await Store.open_standalone(StoreSettings(path=path))

    async def loop(task: int) -> None:
        i = 0
        while True:
            key = f"/kill/{task}/{i}"
            value = await store.create(key, {"metadata": {"name": key}, "data": "x" * 200})
            sys.stdout.write(f"{key} {value['metadata']['resourceVersion']}\n")
            sys.stdout.flush()
            i += 1

    await asyncio.gather(*(loop(t) for t in range(TASKS)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
