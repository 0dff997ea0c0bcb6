"""Stand-ins for what the kubelet talks to, shared by the worker and agent tests."""

from __future__ import annotations

import copy
from typing import Any

UID = "uid-1"


class StubClient:
    """The API calls of a pod worker (`context.PodClient`) against one stored pod."""

    def __init__(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        self.statuses: list[dict[str, Any]] = []
        self.deleted: list[tuple[str | None, str]] = []

    async def get(self, kind: Any, namespace: str | None, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.pod)

    async def update_status(self, kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        # As the status subresource: the stored pod with the new status (the body's spec is ignored).
        rv = int(self.pod["metadata"]["resourceVersion"]) + 1
        self.pod = {**copy.deepcopy(self.pod), "status": copy.deepcopy(obj["status"])}
        self.pod["metadata"]["resourceVersion"] = str(rv)
        self.statuses.append(copy.deepcopy(obj["status"]))
        return copy.deepcopy(self.pod)

    async def delete(self, kind: Any, namespace: str | None, name: str,
                     options: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
        self.deleted.append((namespace, name))
        return copy.deepcopy(self.pod), True


def crashing_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "crash", "namespace": "default", "uid": UID, "resourceVersion": "1"},
            "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                     "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "exit 1"]}]},
            "status": {"phase": "Pending"}}
