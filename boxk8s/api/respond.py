"""Writing responses: JSON bodies, lists, tables, partial metadata and Warning headers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from boxk8s import errors, jsontext
from boxk8s.api.request import LONE_SURROGATE, Accept
from boxk8s.api.warning_headers import plan_warning_headers
from boxk8s.resources import tables
from boxk8s.resources.registry import ResourceType

TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def dumps(obj: Any) -> bytes:
    try:
        return jsontext.dumps_bytes(obj)
    except UnicodeEncodeError:  # a lone surrogate from a path or query: written as U+FFFD, as Go writes it
        return LONE_SURROGATE.sub("\ufffd", json.dumps(obj, separators=(",", ":"), ensure_ascii=False)).encode()


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None,
                  content_type: str = "application/json") -> web.Response:
    """An API response body as the apiserver's JSON serializer writes it: encoding/json's
    Encoder.Encode (runtime/serializer/json Serializer.doEncode), which ends it with a newline."""
    resp = web.Response(body=dumps(obj) + b"\n", status=status, content_type="application/json")
    if content_type != "application/json":
        resp.headers["Content-Type"] = content_type
    for w in warnings or []:
        add_warning(resp, w)
    return resp


WARNINGS = web.ResponseKey("warnings", list[str])  # the texts added to a response so far


def add_warning(resp: web.StreamResponse, text: str) -> None:
    """A `Warning: 299 - "text"` header, which kubectl prints as `Warning: text` (deduplicated, dropped
    or cut short as the apiserver does: warning_headers.py)."""
    texts: list[str] = resp.setdefault(WARNINGS, [])
    texts.append(text)
    resp.headers.popall("Warning", None)
    for header in plan_warning_headers(texts):
        resp.headers.add("Warning", header)


def raw_json_response(obj: Any, *, indent: bool = False) -> web.Response:
    """A body written with json.Marshal, not the serializer: no trailing newline. /version is
    responsewriters.WriteRawJSON's (MarshalIndent, two spaces); the OpenAPI v3 index kube-openapi's."""
    text = json.dumps(obj, indent=2) if indent else json.dumps(obj, separators=(",", ":"))
    return web.Response(body=text.encode(), content_type="application/json")


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def render_object(rt: ResourceType, obj: dict[str, Any], accept: Accept, include_object: str = "Metadata",
                  status: int = 200, warnings: list[str] | None = None) -> web.Response:
    if accept.table:
        return json_response(tables.table(rt, [obj], include_object=include_object), status, warnings, TABLE_TYPE)
    if accept.partial_metadata:
        return json_response(partial_metadata(obj), status, warnings)
    return json_response(obj, status, warnings)


def render_list(rt: ResourceType, items: list[dict[str, Any]], list_meta: dict[str, Any], accept: Accept,
                include_object: str = "Metadata") -> web.Response:
    if accept.table:
        return json_response(
            tables.table(rt, items, include_object=include_object, list_meta=list_meta), content_type=TABLE_TYPE
        )
    if accept.partial_metadata:
        return json_response({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": [partial_metadata(i) for i in items],
        })
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": items})


def render_json_list(rt: ResourceType, items: list[bytes], list_meta: dict[str, Any]) -> web.Response:
    """A plain JSON list from items already encoded (the same bytes render_list would write)."""
    head = dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": []})
    assert head.endswith(b"[]}")
    body = b"".join((head[:-2], b",".join(items), b"]}\n"))
    return web.Response(body=body, content_type="application/json")


def success_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """What a delete that leaves nothing answers: the registry Store's finalizeDelete Status (no
    code; details name, group, kind — the resource, as upstream puts it — and uid)."""
    md = obj.get("metadata", {})
    details = errors.status_details(name=md.get("name", ""), group=rt.group, kind=rt.plural, uid=md.get("uid", ""))
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
