"""The status fields the apiserver always writes, zero when nobody set them.

The apiserver serialises Go structs: a field whose `json:"…"` tag lacks `omitempty` is written
even at its zero value, so a new DaemonSet reads back with `currentNumberScheduled: 0` and the
other counters its controller has not filled yet (typed clients, e.g. the official Python client's
V1DaemonSetStatus, refuse an object without them). By API convention a required field has no
omitempty, so the schema's `required` lists give most of them; the few optional fields without
omitempty are listed by hand from staging/src/k8s.io/api/*/v1/types.go.
"""

from __future__ import annotations

import functools
from typing import Any

from boxk8s.resources import definitions

Obj = dict[str, Any]

# Go's zero value of each JSON scalar type (objects and lists are pointers, maps or slices: nil,
# and left out, unless listed below).
_ZERO = {"integer": 0, "number": 0, "string": "", "boolean": False}

# Optional status fields whose json tag has no omitempty (or a struct, which omitempty never omits).
_NOT_OMITTED: dict[str, Obj] = {
    # StatefulSetStatus.AvailableReplicas `json:"availableReplicas"` (apps/v1), marked +optional.
    "io.k8s.api.apps.v1.StatefulSet": {"availableReplicas": 0},
    # ServiceStatus.LoadBalancer and IngressStatus.LoadBalancer are structs tagged omitempty.
    "io.k8s.api.core.v1.Service": {"loadBalancer": {}},
    "io.k8s.api.networking.v1.Ingress": {"loadBalancer": {}},
}


@functools.cache
def status_zero_values(definition: str) -> Obj:
    """The top-level status fields of `definition` always written, with their zero values."""
    try:
        status = definitions.child(definitions.definition(definition), "status")
    except KeyError:
        return {}
    out: Obj = {}
    for name in status.get("required") or ():
        kinds = definitions.types(definitions.child(status, name))
        if len(kinds) == 1 and (kind := next(iter(kinds))) in _ZERO:
            out[name] = _ZERO[kind]
    out.update(_NOT_OMITTED.get(definition, {}))
    return out


def fill_status_zero_values(obj: Obj, definition: str) -> None:
    """Set, in place, the always-written status fields that are absent (or null) to their zero value."""
    zeros = status_zero_values(definition)
    if not zeros:
        return
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    for name, zero in zeros.items():
        if status.get(name) is None:
            status[name] = zero.copy() if isinstance(zero, dict) else zero
