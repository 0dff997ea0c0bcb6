"""Decoding a custom resource from a request body, as the apiserver's CR codec does.

apiextensions-apiserver/pkg/apiserver/customresource_handler.go (schemaCoercingDecoder and
unstructuredSchemaCoercer.apply): metadata must decode as an ObjectMeta; fields the structural
schema does not specify are pruned (with fieldValidation=Strict they fail the request with
`<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: unknown field
"spec.foo"`, with Warn each one is a warning); non-nullable nulls go; embedded resources' metadata
is coerced to ObjectMeta. Wrong types are not a decoding error for custom resources: validation
reports them (crd_validation.py). Defaulting comes after (defaults.apply_defaults).
"""

from __future__ import annotations

from typing import Any

from boxk8s import errors
from boxk8s.resources import crd_structural, schema
from boxk8s.resources.crd_structural import CONTAINERS, META_FIELDS, SNode
from boxk8s.resources.custom import CustomVersion
from boxk8s.resources.prune import prune_object
from boxk8s.resources.registry import ResourceType

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def decode(rt: ResourceType, obj: dict[str, Any], cv: CustomVersion, field_validation: str,
           warnings: list[str]) -> dict[str, Any]:
    """The object as the apiserver decodes it (a new dict); raises BadRequest as it does."""
    cannot = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    md = obj.get("metadata")
    if isinstance(md, dict):
        bad = schema.type_errors(md, OBJECT_META)
        if bad:
            raise errors.BadRequest(cannot + bad[0].message)
    track = field_validation in ("Strict", "Warn")
    unknown: list[str] = [] if track else None  # type: ignore[assignment]
    out = crd_structural.prune(obj, cv.root, unknown)
    if isinstance(md, dict):
        if track:
            unknown = [f"metadata.{p}" for p in schema.unknown_fields(md, OBJECT_META)] + unknown
        out["metadata"] = prune_object(md, OBJECT_META)
    if track and unknown:
        listed = [f'unknown field "{p}"' for p in unknown]
        if field_validation == "Strict":
            raise errors.BadRequest(cannot + "strict decoding error: " + ", ".join(listed))
        warnings.extend(listed)
    if cv.has_embedded:
        _coerce_embedded(out, cv.root, root=True)
    out["apiVersion"] = rt.api_version
    out["kind"] = rt.kind
    return out


def _coerce_embedded(value: Any, s: SNode, root: bool = False) -> None:
    """Embedded resources keep apiVersion and kind; their metadata is what ObjectMeta knows."""
    if isinstance(value, dict):
        if s.embedded and not root and isinstance(value.get("metadata"), dict):
            value["metadata"] = prune_object(value["metadata"], OBJECT_META)
        for k, v in value.items():
            if root and k in META_FIELDS:
                continue
            child = s.props.get(k) or s.additional
            if child is not None and isinstance(v, CONTAINERS):
                _coerce_embedded(v, child)
    elif isinstance(value, list) and s.items is not None:
        for v in value:
            _coerce_embedded(v, s.items)
