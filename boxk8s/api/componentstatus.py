"""componentstatuses: a read-only view computed per request (resources/componentstatus.py); its
only verbs are get and list, so anything else is refused as for a route that does not exist."""

from __future__ import annotations

from aiohttp import web

from boxk8s import errors
from boxk8s.api import request as rq
from boxk8s.api.respond import render_list, render_object
from boxk8s.resources import selectors
from boxk8s.resources.componentstatus import component_statuses, get_component_status


def _not_allowed(method: str) -> errors.MethodNotAllowed:
    return errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")


async def serve_component_statuses(request: web.Request, t: rq.Target) -> web.Response:
    q = request.query
    if request.method != "GET" or t.subresource or t.legacy_watch or rq.query_bool(q, "watch"):
        raise _not_allowed("WATCH" if request.method == "GET" else request.method)
    accept = rq.negotiate(request)
    if t.name is not None:
        return render_object(t.rt, get_component_status(t.name), accept)
    label = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
    field = selectors.parse_field_selector(q["fieldSelector"], t.rt.kind) if q.get("fieldSelector") else None
    items = [i for i in component_statuses()
             if (label is None or label(i["metadata"].get("labels") or {})) and (field is None or field(i))]
    # As a ComponentStatusList encodes: no resourceVersion, and items without their own kind.
    items = [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items]
    return render_list(t.rt, items, {}, accept)
