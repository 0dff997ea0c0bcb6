"""Which endpoints of a Service's EndpointSlices take new connections: shared by the service proxy
(proxy/plan.py) and the admission webhooks' service resolver (admission_webhook_call.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def ready_backends(slices: Iterable[Mapping[str, Any]], port_name: str,
                   protocol: str = "TCP") -> tuple[tuple[str, int], ...]:
    """The (IP, port) of every ready endpoint whose slice carries a port of this name and protocol;
    when none is ready, the serving ones that are terminating (KEP-1669, kube-proxy's
    `CategorizeEndpoints`: a Service whose every pod is shutting down still drains to them)."""
    ready: set[tuple[str, int]] = set()
    draining: set[tuple[str, int]] = set()
    for s in slices:
        numbers = [int(p["port"]) for p in s.get("ports") or []
                   if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol and p.get("port")]
        if not numbers:
            continue
        for e in s.get("endpoints") or []:
            conditions = e.get("conditions") or {}
            if conditions.get("ready") is not False:
                into = ready
            elif conditions.get("serving") and conditions.get("terminating"):
                into = draining
            else:
                continue
            for ip in e.get("addresses") or []:
                into.update((ip, n) for n in numbers)
    return tuple(sorted(ready or draining))
