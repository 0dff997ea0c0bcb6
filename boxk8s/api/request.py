"""Reading requests: the resource path, query options, bodies and content negotiation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import MultiMapping

from boxk8s import errors, jsontext
from boxk8s.api import protobuf
from boxk8s.resources import registry
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.kinds import Kinds
from boxk8s.resources.patch import go_kind
from boxk8s.resources.registry import ResourceType

MAX_BODY = 3 * 1024 * 1024  # the apiserver's request size limit (DefaultMaxRequestSizeBytes)
# limitedReadBody's error: NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
TOO_LARGE = f"Request entity too large: limit is {MAX_BODY}"


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None  # None: cluster-scoped kind, or all namespaces
    name: str | None
    subresource: str
    legacy_watch: bool = False


_NS_SUBRESOURCES = ("status", "finalize")


def parse_target(group: str, version: str, parts: list[str], kinds: Kinds | None = None) -> Target | None:
    """Interpret the path after /api/v1 or /apis/<group>/<version>. None: no such resource."""
    legacy_watch = False
    if parts and parts[0] == "watch":
        legacy_watch = True
        parts = parts[1:]
    namespace: str | None = None
    if (
        len(parts) >= 3
        and parts[0] == "namespaces"
        and not (len(parts) == 3 and parts[2] in _NS_SUBRESOURCES)
    ):
        namespace = parts[1]
        parts = parts[2:]
    if not parts or len(parts) > 3:
        return None
    rt = kinds.find(group, version, parts[0]) if kinds is not None else registry.find(group, version, parts[0])
    if rt is None:
        return None
    if namespace is not None and not rt.namespaced:
        return None
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else ""
    if sub and sub not in rt.subresources:
        return None
    if name == "":
        return None
    return Target(rt, namespace, name, sub, legacy_watch)


def query_bool(query: MultiMapping[str], key: str) -> bool:
    return query.get(key, "").lower() in ("true", "1")


INT64 = range(-(2**63), 2**63)


def query_int(query: MultiMapping[str], key: str) -> int | None:
    """An int64 query parameter as the apiserver's parameter codec reads it (strconv.ParseInt(v, 10,
    64)): ASCII digits with an optional sign, within int64; anything else is a 400."""
    value = query.get(key)
    if value in (None, ""):
        return None
    number = int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else None
    if number is None or number not in INT64:
        raise errors.BadRequest(f"invalid value for {key}: {value!r}: must be an integer")
    return number


def dry_run(query: MultiMapping[str]) -> bool:
    values = query.getall("dryRun", [])
    for d in values:
        if d != "All":
            raise errors.BadRequest(f'Invalid dryRun value "{d}": only "All" is supported')
    return bool(values)


def write_options(request: web.Request) -> WriteOptions:
    q = request.query
    dry = dry_run(q)
    validation = q.get("fieldValidation", "Warn") or "Warn"
    if validation not in ("Strict", "Warn", "Ignore"):
        raise errors.BadRequest(
            f"fieldValidation must be one of Strict, Warn, Ignore (got {validation!r})"
        )
    manager = q.get("fieldManager", "") or _manager_from_agent(request.headers.get("User-Agent", ""))
    if len(manager) > 128:
        raise errors.BadRequest("fieldManager: Too long: may not be more than 128 bytes")
    force = query_bool(q, "force")
    return WriteOptions(dry_run=dry, field_validation=validation, field_manager=manager, force=force)


def _manager_from_agent(agent: str) -> str:
    # The apiserver's default: the User-Agent up to the first '/'.
    return agent.split("/", 1)[0][:128] if agent else ""


async def read_body(request: web.Request, *, any_json: bool = False, yaml_ok: bool = True) -> Any:
    """The decoded body: an object, or with `any_json` (a JSON patch, whose own decoder words what
    is wrong with it, as the apiserver's does) any JSON value."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.RequestEntityTooLarge(TOO_LARGE)
    raw = await request.read()  # the app's client_max_size (MAX_BODY) turns a larger body into 413
    if not raw.strip():
        raise errors.BadRequest("the request body is empty: an object is required")
    ctype = request.content_type
    try:
        if ctype == protobuf.PROTOBUF:
            body = protobuf.decode_k8s_protobuf(raw)
        elif ctype in ("application/yaml", "application/apply-patch+yaml") and yaml_ok:
            body = yaml.safe_load(raw)
            if YAML_NOT_FINITE.search(raw) and _not_finite(body):
                raise ValueError("json: unsupported value: .inf or .nan (JSON cannot carry it)")
        else:
            body = jsontext.loads(raw, strict=True)
    except (ValueError, yaml.YAMLError) as e:
        raise errors.BadRequest(f"the body of the request could not be decoded: {_short(e)}") from e
    if SURROGATE_ESCAPE.search(raw):
        body = without_lone_surrogates(body)
    if any_json:
        return body
    if isinstance(body, list):
        raise errors.BadRequest("the body of the request must be an object, not a list")
    if not isinstance(body, dict | list):
        raise errors.BadRequest("the body of the request must be an object")
    return body


# metav1.DeleteOptions' fields and the JSON types they decode from (null: unset)
_DELETE_OPTION_TYPES: dict[str, tuple[type, str]] = {
    "kind": (str, "string"), "apiVersion": (str, "string"), "gracePeriodSeconds": (int, "int64"),
    "preconditions": (dict, "v1.Preconditions"), "orphanDependents": (bool, "bool"),
    "propagationPolicy": (str, "v1.DeletionPropagation"), "dryRun": (list, "[]string"),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (bool, "bool"),
}
_PRECONDITION_TYPES = {"uid": (str, "types.UID"), "resourceVersion": (str, "string")}


def check_delete_options(body: dict[str, Any]) -> None:
    """A DeleteOptions body whose fields have the wrong JSON types is the decoder's 400, as upstream
    (`json: cannot unmarshal array into Go struct field DeleteOptions.preconditions of type
    v1.Preconditions`), not a crash further on."""
    def check(obj: dict[str, Any], types: dict[str, tuple[type, str]], struct: str) -> None:
        for field, (want, go_type) in types.items():
            value = obj.get(field)
            wrong = value is not None and (not isinstance(value, want) or (want is int and isinstance(value, bool))
                                           or (want is list and not all(isinstance(v, str) for v in value)))
            if wrong:
                raise errors.BadRequest(f"json: cannot unmarshal {go_kind(value)} into Go struct field "
                                        f"{struct}.{field} of type {go_type}")
    check(body, _DELETE_OPTION_TYPES, "DeleteOptions")
    if isinstance(body.get("preconditions"), dict):
        check(body["preconditions"], _PRECONDITION_TYPES, "Preconditions")


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a UTF-16 surrogate written as an escape (JSON, YAML)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """Go's decoders (encoding/json, and sigs.k8s.io/yaml through it) read an unpaired surrogate escape
    such as `"\\ud800"` as U+FFFD; Python's keep it, and a string holding one cannot be written as
    UTF-8 again (an object stored with one broke every later list of its kind)."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


# YAML's non-finite floats (.inf, -.Inf, .NaN, ...): sigs.k8s.io/yaml turns YAML into JSON, which
# cannot carry them, so the apiserver refuses such a body.
YAML_NOT_FINITE = re.compile(rb"\.(?:inf|nan)", re.IGNORECASE)


def _not_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_not_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    return False


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__


@dataclass(frozen=True)
class Accept:
    table: bool = False
    partial_metadata: bool = False


def negotiate(request: web.Request) -> Accept:
    """Pick the representation: plain JSON, a meta.k8s.io Table, or PartialObjectMetadata."""
    header = request.headers.get("Accept", "")
    if not header:
        return Accept()
    json_ok = False
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0]
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if media in ("application/json", "*/*", "application/*", "application/yaml"):
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return Accept(table=True)
            if params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("g") == "meta.k8s.io":
                return Accept(partial_metadata=True)
            if "as" not in params:
                json_ok = True
    if not json_ok:
        raise errors.NotAcceptable(
            "only the following media types are accepted: application/json, application/yaml, "
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        )
    return Accept()
