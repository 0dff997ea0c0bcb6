from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from boxk8s.store import Store, StoreSettings


@pytest.fixture
def settings(tmp_path: Path) -> StoreSettings:
    return StoreSettings(path=tmp_path / "state" / "boxk8s.db")


@pytest.fixture
async def store(settings: StoreSettings) -> AsyncIterator[Store]:
    opened = await Store.open_standalone(settings)
    try:
        yield opened
    finally:
        await opened.close()


def pod(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": dict(spec)}
