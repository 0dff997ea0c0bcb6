"""status.loadBalancer, as the service proxy and the Ingress controller both write it."""

from __future__ import annotations

import copy
from typing import Any

from boxk8s import errors
from boxk8s.client import Client
from boxk8s.resources.registry import ResourceType


async def write_load_balancer(client: Client, rt: ResourceType, obj: dict[str, Any], wanted: dict[str, Any]) -> bool | None:
    """Set `status.loadBalancer` to `wanted` when it differs. True: written; None: nothing to do;
    False: the object changed or went meanwhile (look again from the informer)."""
    if (obj.get("status") or {}).get("loadBalancer") == wanted:
        return None
    new = copy.deepcopy(obj)
    new.setdefault("status", {})["loadBalancer"] = wanted
    try:
        await client.update_status(rt, new)
    except (errors.NotFound, errors.Conflict):
        return False
    return True
