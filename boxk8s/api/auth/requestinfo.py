"""From an HTTP request to what it does: k8s.io/apiserver/pkg/endpoints/request/requestinfo.go's
`RequestInfoFactory.NewRequestInfo` (APIPrefixes api and apis, api groupless), as a pure function.

The verb is the API verb for resource requests (get, list, watch, create, update, patch, delete,
deletecollection, proxy) and the lower-case HTTP method for the others; a list or watch whose field
selector requires `metadata.name=X` names X, so a rule's resourceNames can allow it. Selectors are
not kept otherwise (AuthorizeWithSelectors: RBAC ignores them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

API_PREFIXES = ("api", "apis")
GROUPLESS_PREFIXES = ("api",)
SPECIAL_VERBS = ("proxy", "watch")
SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)
NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()


# Where the first filter that works it out leaves a request's RequestInfo for the others (upstream's
# WithRequestInfo puts it in the request's context once, for every filter after it).
REQUEST_INFO = web.RequestKey("request_info", RequestInfo)


def info_of(request: web.Request) -> RequestInfo:
    """The request's RequestInfo, worked out once."""
    info = request.get(REQUEST_INFO)
    if info is None:
        info = request[REQUEST_INFO] = request_info(request.method, request.path, request.query)
    return info


def _split_path(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _valid_path_segment_name(name: str) -> bool:
    """path.IsValidPathSegmentName."""
    return name not in (".", "..") and "/" not in name and "%" not in name


def _split_terms(selector: str) -> list[str]:
    """Field selector terms: split on commas not escaped by a backslash."""
    terms, current, escaped = [], [], False
    for ch in selector:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return terms


def exact_match(selector: str, field: str) -> str | None:
    """fields.Selector.RequiresExactMatch(field) of a selector string; None when it does not
    require one, or does not parse (then upstream keeps no name)."""
    found: str | None = None
    for term in _split_terms(selector):
        if not term:
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, _, value = term.partition(op)
                break
        else:
            return None  # "invalid selector": the whole selector is ignored
        if key.strip() == field and op != "!=":
            found = value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")
    return found


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """NewRequestInfo: `query` maps a parameter to its first value (aiohttp's request.query)."""
    verb = method.lower()
    parts = _split_path(path)
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return RequestInfo(False, path, verb)
    prefix = parts[0]
    parts = parts[1:]
    group = ""
    if prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return RequestInfo(False, path, verb)
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts and parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:  # "unable to determine kind and namespace from url": upstream keeps what it knows
            return RequestInfo(True, path, parts[0], prefix, group, version)
        verb, parts = parts[0], parts[1:]
    else:
        verb = _METHOD_VERBS.get(method.upper(), "")
    namespace = ""
    if parts and parts[0] == "namespaces":
        if len(parts) > 1:
            namespace = parts[1]
            if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
                parts = parts[2:]
    resource = subresource = name = ""
    if len(parts) >= 3 and verb not in SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]
    if len(parts) >= 2:
        name = parts[1]
    if len(parts) >= 1:
        resource = parts[0]
    if not name and verb == "get":
        watch = query.get("watch")
        verb = "watch" if watch is not None and watch.lower() not in ("false", "0") else "list"
        selector = query.get("fieldSelector")
        if selector:
            wanted = exact_match(selector, "metadata.name")
            if wanted is not None and _valid_path_segment_name(wanted):
                name = wanted
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(True, path, verb, prefix, group, version, namespace, resource, subresource, name, tuple(parts))
