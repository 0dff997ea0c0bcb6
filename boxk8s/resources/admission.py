"""From a request body to an object fit to store: decode checks, field validation, defaults.

These are the steps the apiserver runs before storage, in its order: the body must be of the
expected kind and decodable (types), unknown fields are refused (Strict), reported (Warn) or
dropped (Ignore), then defaults are applied (layer.py, around the admission plugins) and the
object is validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from boxk8s import errors
from boxk8s.resources import schema, validation
from boxk8s.resources.field_errors import FieldError
from boxk8s.resources.prune import prune_object
from boxk8s.resources.registry import ResourceType


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore (the apiserver's default is Warn)
    field_manager: str = ""
    force: bool = False
    # managedFields for Update operations. In-process components turn it off for their status
    # writes: computing field sets is a large part of a write's cost and nobody reads them there.
    record_managed_fields: bool = True
    # In-process components write objects they built from stored ones: no JSON to decode, so no
    # type checks or pruning (defaults and validation still run). Never set for API requests.
    trusted: bool = False
    warnings: list[str] = field(default_factory=list)


def check_type_meta(rt: ResourceType, obj: Any) -> None:
    if not isinstance(obj, dict):
        raise errors.BadRequest(f"the body of the request was in an unknown format: expected a {rt.kind} object")
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if api_version is not None and api_version != rt.api_version:
        raise errors.BadRequest(
            f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
        )
    if kind is not None and kind != rt.kind:
        raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise errors.BadRequest(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            "json: cannot unmarshal into Go struct field "
            f"{rt.kind}.metadata of type v1.ObjectMeta"
        )


def decode(rt: ResourceType, obj: Any, opts: WriteOptions) -> dict[str, Any]:
    """Type checks and unknown fields; returns the object as the apiserver would have decoded it."""
    check_type_meta(rt, obj)
    if opts.trusted:  # built by our own components from stored, already decoded objects
        return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}
    message = schema.decode_errors(obj, rt.definition)
    if message:
        raise errors.BadRequest(message)
    if opts.field_validation == "Strict":
        message = schema.strict_errors(obj, rt.definition)
        if message:
            raise errors.BadRequest(message)
    elif opts.field_validation == "Warn":
        opts.warnings.extend(schema.unknown_field_warnings(obj, rt.definition))
    obj = prune_object(obj, rt.definition)
    obj = dict(obj)
    obj["apiVersion"] = rt.api_version
    obj["kind"] = rt.kind
    return obj


def validate_object(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None,
                    subresource: str = "") -> None:
    """The strategy's Validate (defaults are applied before, around the admission plugins); on an
    update (`old` is the stored object) also what the update may not change, as the strategies'
    ValidateUpdate does. An Invalid error naming every field at fault."""
    problems = validation.validate(obj, rt.definition)
    if old is not None:
        problems += validation.validate_update(obj, old, rt.definition, subresource)
    _refuse(rt, obj, problems)


def validate_update(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any], subresource: str) -> None:
    """Only what an update may not change: for subresource writes, whose object is otherwise the stored one."""
    _refuse(rt, obj, validation.validate_update(obj, old, rt.definition, subresource))


def _refuse(rt: ResourceType, obj: dict[str, Any], problems: list[FieldError]) -> None:
    if problems:
        name = (obj.get("metadata") or {}).get("name") or ""
        causes = [{"reason": p.reason, "message": p.message, "field": p.field} for p in problems]
        raise errors.invalid(rt.group, rt.kind, name, causes)
