from __future__ import annotations

from typing import Any

import pytest

from boxk8s.controllers.serviceaccounts import plan_service_accounts


def ns(phase: str = "Active", deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": "x"}
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": md, "status": {"phase": phase}}


@pytest.mark.parametrize(("namespace", "existing", "create"), [
    (ns(), set(), ["default"]),
    (ns(), {"default"}, []),
    (ns(), {"other"}, ["default"]),
    (ns("Terminating", deleting=True), set(), []),
    (ns("Terminating"), set(), []),
    (None, set(), []),  # gone
])
def test_plan_service_accounts(namespace: dict[str, Any] | None, existing: set[str], create: list[str]) -> None:
    assert plan_service_accounts(namespace, existing) == create
