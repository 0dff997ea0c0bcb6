"""Custom resources' schemas as the apiserver publishes them in OpenAPI v3.

apiextensions-apiserver/pkg/controller/openapi/builder: each served version's structural schema,
named by the REST-friendly form of group/version/kind (`com.example.v1.Widget`), with apiVersion,
kind and metadata (a reference to ObjectMeta) added, the `x-kubernetes-group-version-kind` that
`kubectl explain` and `kubectl apply` find it by, and a List schema beside it.
"""

from __future__ import annotations

import copy
from typing import Any

from boxk8s.resources.custom import CustomVersion

COMPONENTS = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"

API_VERSION_DOC = ("APIVersion defines the versioned schema of this representation of an object. Servers should "
                   "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
                   "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
                   "api-conventions.md#resources")
KIND_DOC = ("Kind is a string value representing the REST resource this object represents. Servers may infer "
            "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
            "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
METADATA_DOC = ("Standard object's metadata. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
LIST_METADATA_DOC = ("Standard list metadata. More info: "
                     "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")


def definition_name(group: str, version: str, kind: str) -> str:
    """util.ToRESTFriendlyName of group/version/kind: the group's labels reversed."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _type_meta() -> dict[str, Any]:
    return {"apiVersion": {"description": API_VERSION_DOC, "type": "string"},
            "kind": {"description": KIND_DOC, "type": "string"}}


def published(cv: CustomVersion) -> dict[str, Any]:
    schema = _published(copy.deepcopy(cv.schema) if isinstance(cv.schema, dict) else {})
    props = schema.setdefault("properties", {})
    props.update(_type_meta())
    props["metadata"] = {"allOf": [{"$ref": COMPONENTS + OBJECT_META}], "description": METADATA_DOC}
    schema["type"] = "object"
    schema["x-kubernetes-group-version-kind"] = [{"group": cv.group, "kind": cv.kind, "version": cv.version}]
    return dict(sorted(schema.items()))


def _published(s: dict[str, Any]) -> dict[str, Any]:
    """IntOrString published as the apiserver does (anyOf integer, string); the rest as written."""
    if s.get("x-kubernetes-int-or-string") is True and "anyOf" not in s:
        s["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    for child in (s.get("properties") or {}).values():
        if isinstance(child, dict):
            _published(child)
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            _published(s[key])
    return s


def list_schema(cv: CustomVersion, item: str) -> dict[str, Any]:
    return {
        "description": f"{cv.list_kind} is a list of {cv.kind}",
        "properties": {
            **_type_meta(),
            "items": {"description": f"List of {cv.plural}. More info: "
                                     "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                                     "api-conventions.md",
                      "items": {"$ref": COMPONENTS + item}, "type": "array"},
            "metadata": {"allOf": [{"$ref": COMPONENTS + LIST_META}], "description": LIST_METADATA_DOC},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": cv.group, "kind": cv.list_kind, "version": cv.version}],
    }
