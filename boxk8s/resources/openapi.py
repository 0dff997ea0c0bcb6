"""The OpenAPI documents kubectl fetches: the v3 index, one v3 document per group-version, and v2.

kubectl 1.32 decides whether the server validates fields by looking, in the group-version's v3
document, for a PATCH operation whose `x-kubernetes-group-version-kind` is the kind and whose
parameters include `fieldValidation` (DESIGN.md §4). `kubectl explain` reads
`components.schemas` and finds a kind by its `x-kubernetes-group-version-kind`. The schemas come
from the official definitions (JSON-schema style) converted to OpenAPI 3 / Swagger 2 style, the
way the real apiserver publishes them. Documents are built once and cached as bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources import crd_openapi, custom
from boxk8s.resources.definitions import KUBERNETES_VERSION, REF_PREFIX, definitions, ref_name
from boxk8s.resources.kinds import Kinds, builtin_group_version
from boxk8s.resources.registry import RESOURCES, ResourceType, group_versions

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
PATCH = META + "Patch"
DELETE_OPTIONS = META + "DeleteOptions"
STATUS = META + "Status"
WATCH_EVENT = META + "WatchEvent"
API_RESOURCE_LIST = META + "APIResourceList"
SCALE = "io.k8s.api.autoscaling.v1.Scale"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# Custom resources take no strategic merge patch: kubectl, finding it missing from the PATCH
# operation, sends a JSON merge patch instead.
CUSTOM_PATCH_TYPES = PATCH_TYPES[:3]
RESPONSE_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
WATCH_TYPES = (
    "application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch",
)

# The definitions kubernetes-validate ships without a description.
_DESCRIPTIONS = {
    INT_OR_STRING: "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for "
    "example, a JSON field that can accept a name or number.",
    QUANTITY: "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\n"
    "The serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n```",
}

# ---------------------------------------------------------------------------------------------
# Schema conversion.

_SCHEMA_LISTS = ("allOf", "oneOf", "anyOf")


def _convert(schema: dict[str, Any], prefix: str, v3: bool, kind_props: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = ref_name(schema)
    for key, value in schema.items():
        if key == "$ref":
            continue
        if key == "type":
            if isinstance(value, list):
                value = next((t for t in value if t != "null"), None)
            if value is not None:
                out["type"] = value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {
                k: _convert(v, prefix, v3, kind_props=k in ("apiVersion", "kind")) for k, v in value.items()
            }
        elif key in ("items", "not") and isinstance(value, dict):
            out[key] = _convert(value, prefix, v3)
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _convert(value, prefix, v3)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_convert(v, prefix, v3) for v in value if isinstance(v, dict)]
        elif key == "enum" and kind_props:
            continue  # kubernetes-validate pins apiVersion/kind; the real server does not
        else:
            out[key] = value
    if name is not None:
        ref = {"$ref": prefix + name}
        if not out:
            return ref
        if v3:
            return {"allOf": [ref], **out}
        return {**ref, **out}
    return out


def _definition_schema(name: str, v3: bool) -> dict[str, Any]:
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    if name == INT_OR_STRING:
        base: dict[str, Any] = {"description": _DESCRIPTIONS[name], "format": "int-or-string"}
        if v3:
            base["oneOf"] = [{"type": "integer"}, {"type": "string"}]
        else:
            base["type"] = "string"
        return base
    if name == QUANTITY:
        base = {"description": _DESCRIPTIONS[name]}
        if v3:
            base["oneOf"] = [{"type": "string"}, {"type": "number"}]
        else:
            base["type"] = "string"
        return base
    return _convert(definitions()[name], prefix, v3)


def _refs(schema: Any) -> Iterable[str]:
    """Every definition name referenced anywhere in a (JSON-schema style) schema."""
    stack = [schema]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            ref = s.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                yield ref[len(REF_PREFIX):]
            for k, v in s.items():
                if k == "properties" and isinstance(v, dict):
                    stack.extend(v.values())  # property names are names (JSONSchemaProps has x-kubernetes-…)
                elif not k.startswith("x-kubernetes"):
                    stack.append(v)
        elif isinstance(s, list):
            stack.extend(s)


def reachable(roots: Iterable[str]) -> list[str]:
    """The definitions `roots` need, sorted (the closure over `$ref`)."""
    defs = definitions()
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(r for r in _refs(defs[name]) if r not in seen and r in defs)
    return sorted(seen)


# ---------------------------------------------------------------------------------------------
# Operations, built once and rendered for v3 or v2.


@dataclass(frozen=True)
class _Param:
    name: str
    where: str  # "query" | "path"
    description: str
    kind: str = "string"  # "string" | "boolean" | "integer"
    required: bool = False


@dataclass
class _Op:
    method: str
    operation_id: str
    description: str
    action: str
    gvk: dict[str, str]
    params: list[_Param] = field(default_factory=list)
    body: str | None = None  # a definition name
    body_types: tuple[str, ...] = ("*/*",)
    response: str | None = None  # a definition name; None: a plain string body
    produces: tuple[str, ...] = RESPONSE_TYPES
    codes: tuple[int, ...] = (200,)
    tag: str = ""


@dataclass
class _PathItem:
    path: str
    params: list[_Param]
    ops: list[_Op]


_D = {
    "pretty": "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent "
    "indicates a browser or command-line HTTP tool (curl and wget).",
    "name": "name of the {kind}",
    "namespace": "object name and auth scope, such as for teams and projects",
    "dryRun": "When present, indicates that modifications should not be persisted. An invalid or "
    "unrecognized dryRun directive will result in an error response and no further processing of the "
    "request. Valid values are: - All: all dry run stages will be processed",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these "
    "changes. The value must be less than or 128 characters long, and only contain printable characters, "
    "as defined by https://golang.org/pkg/unicode/#IsPrint.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request "
    "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore "
    "any unknown fields that are silently dropped from the object, and will ignore all but the last "
    "duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This "
    "will send a warning via the standard warning response header for each unknown field that is dropped "
    "from the object, and for each duplicate field that is encountered. The request will still succeed if "
    "there are no other errors, and will only persist the last of any duplicate fields. This is the default "
    "in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be "
    "dropped from the object, or if any duplicate fields are present. The error returned from the server "
    "will contain all unknown and duplicate fields encountered.",
    "force": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields "
    "owned by other people. Force flag must be unset for non-apply patch requests.",
    "allowWatchBookmarks": "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that "
    "do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.",
    "continue": "The continue option should be set when retrieving more results from the server.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields. Defaults to "
    "everything.",
    "labelSelector": "A selector to restrict the list of returned objects by their labels. Defaults to "
    "everything.",
    "limit": "limit is a maximum number of responses to return for a list call.",
    "resourceVersion": "resourceVersion sets a constraint on what resource versions a request may be "
    "served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for "
    "details.\n\nDefaults to unset",
    "resourceVersionMatch": "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    "sendInitialEvents": "`sendInitialEvents=true` may be set together with `watch=true`.",
    "timeoutSeconds": "Timeout for the list/watch call. This limits the duration of the call, regardless "
    "of any activity or inactivity.",
    "watch": "Watch for changes to the described resources and return them as a stream of add, update, and "
    "remove notifications. Specify resourceVersion.",
    "gracePeriodSeconds": "The duration in seconds before the object should be deleted. Value must be "
    "non-negative integer. The value zero indicates delete immediately.",
    "orphanDependents": "Deprecated: please use the PropagationPolicy, this field will be deprecated in "
    "1.7. Should the dependent objects be orphaned.",
    "propagationPolicy": "Whether and how garbage collection will be performed. Acceptable values are: "
    "'Orphan', 'Background', 'Foreground'.",
}


def _q(name: str, kind: str = "string") -> _Param:
    return _Param(name, "query", _D[name], kind)


_LIST_PARAMS = [
    _q("allowWatchBookmarks", "boolean"), _q("continue"), _q("fieldSelector"), _q("labelSelector"),
    _q("limit", "integer"), _q("resourceVersion"), _q("resourceVersionMatch"),
    _q("sendInitialEvents", "boolean"), _q("timeoutSeconds", "integer"), _q("watch", "boolean"),
]
_WRITE_PARAMS = [_q("dryRun"), _q("fieldManager"), _q("fieldValidation")]
_PATCH_PARAMS = [*_WRITE_PARAMS, _q("force", "boolean")]
_DELETE_PARAMS = [
    _q("dryRun"), _q("gracePeriodSeconds", "integer"), _q("orphanDependents", "boolean"),
    _q("propagationPolicy"),
]


def _gv_camel(group: str, version: str) -> str:
    g = group.split(".")[0] if group else "core"
    return g[:1].upper() + g[1:] + version[:1].upper() + version[1:]


def _tag(group: str, version: str) -> str:
    g = group.split(".")[0] if group else "core"
    return f"{g}_{version}"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _list_definition(rt: ResourceType) -> str:
    return rt.definition + "List"


_ACTION_VERBS = {"post": "create", "put": "update"}  # x-kubernetes-action → the API verb


def _served(rt: ResourceType, ops: list[_Op]) -> list[_Op]:
    """The operations of the verbs the kind serves (namespaces: no deletecollection; componentstatuses:
    get and list)."""
    return [o for o in ops if _ACTION_VERBS.get(o.action, o.action) in rt.verbs]


def _resource_paths(rt: ResourceType, patch_types: tuple[str, ...] = PATCH_TYPES) -> list[_PathItem]:
    base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    gv = _gv_camel(rt.group, rt.version)
    tag = _tag(rt.group, rt.version)
    ns = "Namespaced" if rt.namespaced else ""
    kind = rt.kind
    gvk = _gvk(rt)
    pretty = _Param("pretty", "query", _D["pretty"])
    name_p = _Param("name", "path", _D["name"].format(kind=kind), required=True)
    ns_p = _Param("namespace", "path", _D["namespace"], required=True)
    scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    scope_params = [ns_p] if rt.namespaced else []
    list_def = _list_definition(rt)
    items: list[_PathItem] = []

    def op(method: str, verb: str, what: str, action: str, **kw: Any) -> _Op:
        return _Op(method, f"{verb}{gv}{ns}{kind}{what}", kw.pop("description"), action, kw.pop("gvk", gvk),
                   tag=tag, **kw)

    collection = [
        op("get", "list", "", "list", description=f"list or watch objects of kind {kind}",
           params=_LIST_PARAMS, response=list_def, produces=WATCH_TYPES),
        op("post", "create", "", "post", description=f"create a{'n' if kind[0] in 'AEIOU' else ''} {kind}",
           params=_WRITE_PARAMS, body=rt.definition, response=rt.definition, codes=(200, 201, 202)),
        op("delete", "deletecollection", "", "deletecollection",
           description=f"delete collection of {kind}", params=_DELETE_PARAMS + _LIST_PARAMS[1:-1],
           body=DELETE_OPTIONS, response=STATUS),
    ]
    items.append(_PathItem(scope, [*scope_params, pretty], _served(rt, collection)))
    single = [
        op("get", "read", "", "get", description=f"read the specified {kind}", response=rt.definition),
        op("put", "replace", "", "put", description=f"replace the specified {kind}", params=_WRITE_PARAMS,
           body=rt.definition, response=rt.definition, codes=(200, 201)),
        op("patch", "patch", "", "patch", description=f"partially update the specified {kind}",
           params=_PATCH_PARAMS, body=PATCH, body_types=patch_types, response=rt.definition, codes=(200, 201)),
        op("delete", "delete", "", "delete", description=f"delete a{'n' if kind[0] in 'AEIOU' else ''} {kind}",
           params=_DELETE_PARAMS, body=DELETE_OPTIONS, response=STATUS, codes=(200, 202)),
    ]
    items.append(_PathItem(f"{scope}/{{name}}", [name_p, *scope_params, pretty], _served(rt, single)))
    if "list" not in rt.verbs:  # bindings: create only
        return [item for item in items if item.ops]
    if rt.namespaced:
        items.append(_PathItem(f"{base}/{rt.plural}", [*_LIST_PARAMS, pretty], [
            _Op("get", f"list{gv}{kind}ForAllNamespaces", f"list or watch objects of kind {kind}", "list", gvk,
                response=list_def, produces=WATCH_TYPES, tag=tag),
        ]))
    watch_scope = (f"{base}/watch/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced
                   else f"{base}/watch/{rt.plural}")
    items.append(_PathItem(watch_scope, [*_LIST_PARAMS, *scope_params, pretty], [
        op("get", "watch", "List", "watchlist", description=f"watch individual changes to a list of {kind}. "
           "deprecated: use the 'watch' parameter with a list operation instead.", response=WATCH_EVENT,
           produces=WATCH_TYPES),
    ]))
    items.append(_PathItem(f"{watch_scope}/{{name}}", [*_LIST_PARAMS, name_p, *scope_params, pretty], [
        op("get", "watch", "", "watch", description=f"watch changes to an object of kind {kind}. deprecated: "
           "use the 'watch' parameter with a list operation instead, filtered to a single item with the "
           "'fieldSelector' parameter.", response=WATCH_EVENT, produces=WATCH_TYPES),
    ]))
    if rt.namespaced:
        items.append(_PathItem(f"{base}/watch/{rt.plural}", [*_LIST_PARAMS, pretty], [
            _Op("get", f"watch{gv}{kind}ListForAllNamespaces", f"watch individual changes to a list of {kind}. "
                "deprecated: use the 'watch' parameter with a list operation instead.", "watchlist", gvk,
                response=WATCH_EVENT, produces=WATCH_TYPES, tag=tag),
        ]))
    for sub in rt.subresources:
        items.extend(_subresource_paths(rt, sub, f"{scope}/{{name}}/{sub}", [name_p, *scope_params], op, patch_types))
    return items


def _subresource_paths(rt: ResourceType, sub: str, path: str, params: list[_Param], op: Any,
                       patch_types: tuple[str, ...] = PATCH_TYPES) -> list[_PathItem]:
    kind = rt.kind
    pretty = _Param("pretty", "query", _D["pretty"])
    title = sub[:1].upper() + sub[1:]
    if sub in ("status", "scale"):
        body = rt.definition if sub == "status" else SCALE
        gvk = _gvk(rt) if sub == "status" else {"group": "autoscaling", "version": "v1", "kind": "Scale"}
        return [_PathItem(path, [*params, pretty], [
            op("get", "read", title, "get", description=f"read {sub} of the specified {kind}", response=body,
               gvk=gvk),
            op("put", "replace", title, "put", description=f"replace {sub} of the specified {kind}",
               params=_WRITE_PARAMS, body=body, response=body, codes=(200, 201), gvk=gvk),
            op("patch", "patch", title, "patch", description=f"partially update {sub} of the specified {kind}",
               params=_PATCH_PARAMS, body=PATCH, body_types=patch_types, response=body, codes=(200, 201),
               gvk=gvk),
        ])]
    if sub == "log":
        log_params = [_Param(n, "query", f"{n} for the log request", k) for n, k in (
            ("container", "string"), ("follow", "boolean"), ("insecureSkipTLSVerifyBackend", "boolean"),
            ("limitBytes", "integer"), ("previous", "boolean"), ("sinceSeconds", "integer"),
            ("stream", "string"), ("tailLines", "integer"), ("timestamps", "boolean"))]
        return [_PathItem(path, [*params, *log_params, pretty], [
            op("get", "read", "Log", "get", description=f"read log of the specified {kind}", response=None,
               produces=("text/plain", "application/json", "application/yaml",
                         "application/vnd.kubernetes.protobuf")),
        ])]
    if sub == "binding":
        gvk = {"group": "", "version": "v1", "kind": "Binding"}
        return [_PathItem(path, [*params, pretty], [
            op("post", "create", "Binding", "post", description=f"create binding of a {kind}",
               params=_WRITE_PARAMS, body="io.k8s.api.core.v1.Binding", response="io.k8s.api.core.v1.Binding",
               codes=(200, 201, 202), gvk=gvk),
        ])]
    if sub == "eviction":
        gvk = {"group": "policy", "version": "v1", "kind": "Eviction"}
        return [_PathItem(path, [*params, pretty], [
            op("post", "create", "Eviction", "post", description=f"create eviction of a {kind}",
               params=_WRITE_PARAMS, body="io.k8s.api.policy.v1.Eviction",
               response="io.k8s.api.policy.v1.Eviction", codes=(200, 201, 202), gvk=gvk),
        ])]
    if sub == "token":
        gvk = {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}
        return [_PathItem(path, [*params, pretty], [
            op("post", "create", "Token", "post", description=f"create token of a {kind}",
               params=_WRITE_PARAMS, body="io.k8s.api.authentication.v1.TokenRequest",
               response="io.k8s.api.authentication.v1.TokenRequest", codes=(200, 201, 202), gvk=gvk),
        ])]
    if sub == "finalize":
        return [_PathItem(path, [*params, pretty], [
            op("put", "replace", "Finalize", "put", description=f"replace finalize of the specified {kind}",
               params=_WRITE_PARAMS, body=rt.definition, response=rt.definition, codes=(200, 201)),
        ])]
    # exec, attach, portforward, proxy: connect operations answered with a stream.
    gvk = {"group": rt.group, "version": rt.version, "kind": f"{kind}{_CONNECT_KINDS.get(sub, title)}Options"}
    methods = ("get", "post") if sub != "proxy" else ("get", "post", "put", "patch", "delete")
    ops = [
        _Op(m, f"connect{_gv_camel(rt.group, rt.version)}{m.capitalize()}{'Namespaced' if rt.namespaced else ''}"
            f"{kind}{_CONNECT_KINDS.get(sub, title)}", f"connect {m.upper()} requests to {sub} of {kind}",
            "connect", gvk, response=None, produces=("*/*",), tag=_tag(rt.group, rt.version))
        for m in methods
    ]
    return [_PathItem(path, list(params), ops)]


_CONNECT_KINDS = {"exec": "Exec", "attach": "Attach", "portforward": "PortForward", "proxy": "Proxy"}


def _gv_paths(group: str, version: str) -> list[_PathItem]:
    out: list[_PathItem] = []
    for rt in RESOURCES:
        if rt.group == group and rt.version == version:
            out.extend(_resource_paths(rt))
    return out


def _op_definitions(items: Iterable[_PathItem]) -> set[str]:
    names: set[str] = {STATUS}
    for item in items:
        for o in item.ops:
            names.update(x for x in (o.body, o.response) if x)
    return names


# ---------------------------------------------------------------------------------------------
# Rendering.


def _v3_param(p: _Param) -> dict[str, Any]:
    out: dict[str, Any] = {"description": p.description, "in": p.where, "name": p.name}
    if p.required:
        out["required"] = True
    out["schema"] = {"type": p.kind, "uniqueItems": True}
    return out


def _v3_schema_ref(name: str | None) -> dict[str, Any]:
    return {"$ref": "#/components/schemas/" + name} if name else {"type": "string"}


def _v3_op(o: _Op) -> dict[str, Any]:
    out: dict[str, Any] = {"description": o.description, "operationId": o.operation_id}
    if o.params:
        out["parameters"] = [_v3_param(p) for p in o.params]
    if o.body:
        out["requestBody"] = {
            "content": {t: {"schema": _v3_schema_ref(o.body)} for t in sorted(o.body_types)},
            "required": o.method != "delete",
        }
    responses: dict[str, Any] = {}
    names = {200: "OK", 201: "Created", 202: "Accepted"}
    for code in o.codes:
        responses[str(code)] = {
            "content": {t: {"schema": _v3_schema_ref(o.response)} for t in o.produces},
            "description": names[code],
        }
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["tags"] = [o.tag]
    out["x-kubernetes-action"] = o.action
    out["x-kubernetes-group-version-kind"] = dict(o.gvk)
    return out


def _v3_paths(items: Iterable[_PathItem]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for item in items:
        entry: dict[str, Any] = {o.method: _v3_op(o) for o in item.ops}
        entry["parameters"] = [_v3_param(p) for p in item.params]
        paths[item.path] = entry
    return paths


@functools.cache
def _schema_cache(name: str, v3: bool) -> dict[str, Any]:
    return _definition_schema(name, v3)


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def _v3_document(group: str, version: str) -> bytes | None:
    items = _gv_paths(group, version)
    if not items:
        return None
    names = reachable(_op_definitions(items) | {_list_definition(rt) for rt in RESOURCES
                                                if rt.group == group and rt.version == version
                                                and "list" in rt.verbs})
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": _v3_paths(items),
        "components": {
            "schemas": {n: _schema_cache(n, True) for n in names},
            "securitySchemes": {
                "BearerToken": {"description": "Bearer Token authentication", "in": "header",
                                "name": "authorization", "type": "apiKey"},
            },
        },
        "security": [{"BearerToken": []}],
    }
    return _dump(doc)


def openapi_v3_document(group: str, version: str, kinds: Kinds | None = None) -> bytes | None:
    """JSON bytes of the OpenAPI 3.0 document for a group-version ("" is core); None if not served.
    `kinds`: the cluster's served kinds, for the group-versions of its custom resources."""
    if builtin_group_version(group, version) or kinds is None:
        return _v3_document(group, version)
    return kinds.memo(("openapi-v3", group, version), lambda: _custom_document(kinds, group, version))


def _custom_document(kinds: Kinds, group: str, version: str) -> bytes | None:
    """A custom resources' group-version: their paths (no strategic merge patch), their schemas
    under REST-friendly names (crd_openapi.py), and the meta definitions those refer to."""
    served = [(rt, cv) for rt in kinds.added() if rt.group == group and rt.version == version
              and (cv := custom.lookup(rt.definition)) is not None]
    if not served:
        return None
    items: list[_PathItem] = []
    own: dict[str, Any] = {}
    for rt, cv in served:
        name = crd_openapi.definition_name(rt.group, rt.version, rt.kind)
        items.extend(_resource_paths(dataclasses.replace(rt, definition=name), CUSTOM_PATCH_TYPES))
        own[name] = crd_openapi.published(cv)
        own[name + "List"] = crd_openapi.list_schema(cv, name)
    names = reachable(_op_definitions(items) | {crd_openapi.OBJECT_META, crd_openapi.LIST_META})
    schemas = {n: _schema_cache(n, True) for n in names}
    schemas.update(own)
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": _v3_paths(items),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "BearerToken": {"description": "Bearer Token authentication", "in": "header",
                                "name": "authorization", "type": "apiKey"},
            },
        },
        "security": [{"BearerToken": []}],
    }
    return _dump(doc)


def document_hash(doc: bytes) -> str:
    """The `hash` in serverRelativeURL: sha512 of the document, upper-case hex, as the apiserver does."""
    return hashlib.sha512(doc).hexdigest().upper()


@functools.cache
def _v3_index() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, version in group_versions():
        doc = _v3_document(group, version)
        if doc is None:
            continue
        p = _gv_path(group, version)
        paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={document_hash(doc)}"}
    return {"paths": paths}


def openapi_v3_index(kinds: Kinds | None = None) -> dict[str, Any]:
    """The /openapi/v3 discovery document: one serverRelativeURL per served group-version (the
    built-in ones, then those of the cluster's custom resources)."""
    if kinds is None or not kinds.added():
        return json.loads(json.dumps(_v3_index()))
    return json.loads(json.dumps(kinds.memo(("openapi-v3-index",), lambda: _index_with(kinds))))


def _index_with(kinds: Kinds) -> dict[str, Any]:
    paths = dict(_v3_index()["paths"])
    for group, version in kinds.group_versions():
        if builtin_group_version(group, version):
            continue
        doc = openapi_v3_document(group, version, kinds)
        if doc is not None:
            p = _gv_path(group, version)
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={document_hash(doc)}"}
    return {"paths": paths}


def openapi_v3_path(path: str, kinds: Kinds | None = None) -> bytes | None:
    """The document for an index path like "api/v1" or "apis/apps/v1" (no leading slash)."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return openapi_v3_document("", parts[1], kinds)
    if len(parts) == 3 and parts[0] == "apis":
        return openapi_v3_document(parts[1], parts[2], kinds)
    return None


# Swagger 2.0 ----------------------------------------------------------------------------------


def _v2_param(p: _Param) -> dict[str, Any]:
    out: dict[str, Any] = {"description": p.description, "in": p.where, "name": p.name, "type": p.kind,
                           "uniqueItems": True}
    if p.required:
        out["required"] = True
    return out


def _v2_op(o: _Op) -> dict[str, Any]:
    out: dict[str, Any] = {"description": o.description, "operationId": o.operation_id}
    if o.body:
        out["consumes"] = sorted(o.body_types)
    out["produces"] = list(o.produces)
    params = []
    if o.body:
        params.append({"in": "body", "name": "body", "required": o.method != "delete",
                       "schema": {"$ref": "#/definitions/" + o.body}})
    params += [_v2_param(p) for p in o.params]
    if params:
        out["parameters"] = params
    names = {200: "OK", 201: "Created", 202: "Accepted"}
    schema = {"$ref": "#/definitions/" + o.response} if o.response else {"type": "string"}
    responses: dict[str, Any] = {str(c): {"description": names[c], "schema": schema} for c in o.codes}
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["schemes"] = ["https"]
    out["tags"] = [o.tag]
    out["x-kubernetes-action"] = o.action
    out["x-kubernetes-group-version-kind"] = dict(o.gvk)
    return out


@functools.cache
def _v2_document() -> bytes:
    paths: dict[str, Any] = {}
    for group, version in group_versions():
        for item in _gv_paths(group, version):
            entry: dict[str, Any] = {o.method: _v2_op(o) for o in item.ops}
            entry["parameters"] = [_v2_param(p) for p in item.params]
            paths[item.path] = entry
    doc = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": {n: _schema_cache(n, False) for n in sorted(definitions())},
        "securityDefinitions": {
            "BearerToken": {"description": "Bearer Token authentication", "in": "header",
                            "name": "authorization", "type": "apiKey"},
        },
        "security": [{"BearerToken": []}],
    }
    return _dump(doc)


def openapi_v2_document() -> bytes:
    """Swagger 2.0 JSON with every definition and the paths of every served resource."""
    return _v2_document()
