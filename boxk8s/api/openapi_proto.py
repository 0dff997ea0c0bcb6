"""/openapi/v2 as protobuf: the Swagger 2.0 document in gnostic's `openapi.v2.Document` messages.

kubectl asks for this form only (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`)
when the OpenAPI v3 lookup of a kind fails, e.g. for a kind the server does not serve: it then
validates on the client against the v2 models and, finding none for that kind, goes on to say
"no matches for kind … ensure CRDs are installed first" as on any cluster. The apiserver builds
this with gnostic's `NewDocument` from the same document it serves as JSON; here the JSON document
is walked along the message descriptors (extracted from kubectl, see
scripts/gen_proto_descriptors.py): a key becomes the field of that JSON name, `x-` keys become
`vendor_extension` entries whose `Any.yaml` holds the value as JSON (which is YAML), maps become
repeated `Named*` entries, and gnostic's oneof wrappers pick their branch as its compiler does
(a `$ref` makes a reference, `in: body` a body parameter, …).
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from boxk8s.resources import openapi

# kube-openapi's handler answers both accepted names (`…spec.v2@v1.0+protobuf`, deprecated, and
# `…spec.v2.v1.0+protobuf`) with the second: Go's mime parser refuses the `@`.
CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_PACKAGE = "openapi.v2."


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    raw = (resources.files("boxk8s.api") / "openapiv2-descriptor.binpb.gz").read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(gzip.decompress(raw))
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    for fd in files.file:
        pool.Add(fd)
    return pool


def _new(desc: Descriptor) -> Message:
    return message_factory.GetMessageClass(desc)()


def _by_ref(value: dict[str, Any]) -> str | None:
    return "json_reference" if "$ref" in value else None


_NON_BODY = {"header": "header_parameter_sub_schema", "formData": "form_data_parameter_sub_schema",
             "query": "query_parameter_sub_schema", "path": "path_parameter_sub_schema"}
_OAUTH2 = {"implicit": "oauth2_implicit_security", "password": "oauth2_password_security",
           "application": "oauth2_application_security", "accessCode": "oauth2_access_code_security"}

# gnostic's oneof wrappers: which branch a JSON value is.
_ONEOF: dict[str, Callable[[dict[str, Any]], str]] = {
    "ParametersItem": lambda v: _by_ref(v) or "parameter",
    "Parameter": lambda v: "body_parameter" if v.get("in") == "body" else "non_body_parameter",
    "NonBodyParameter": lambda v: _NON_BODY.get(str(v.get("in")), "query_parameter_sub_schema"),
    "ResponseValue": lambda v: _by_ref(v) or "response",
    "SchemaItem": lambda v: "file_schema" if v.get("type") == "file" else "schema",
    "SecurityDefinitionsItem": lambda v: (
        "basic_authentication_security" if v.get("type") == "basic"
        else "api_key_security" if v.get("type") == "apiKey"
        else _OAUTH2.get(str(v.get("flow")), "oauth2_implicit_security")),
}
# Objects whose keys (other than `x-…`) are entries of one repeated field.
_KEYED = {"Paths": "path", "Responses": "response_code"}


def _any(value: Any) -> Message:
    out = _new(_pool().FindMessageTypeByName(_PACKAGE + "Any"))
    out.yaml = json.dumps(value, separators=(",", ":"))  # type: ignore[attr-defined]
    return out


def _named(entry: Descriptor, name: str, value: Any) -> Message:
    out = _new(entry)
    out.name = name  # type: ignore[attr-defined]
    value_field = entry.fields_by_name["value"]
    if value_field.type == FieldDescriptor.TYPE_MESSAGE:
        out.value.CopyFrom(convert(value, value_field.message_type))  # type: ignore[attr-defined]
    else:
        out.value = str(value)  # type: ignore[attr-defined]
    return out


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool(value)
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(value)
    if field.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32):
        return int(value)
    return value if isinstance(value, str) else json.dumps(value)


def _set(out: Message, field: FieldDescriptor, value: Any) -> None:
    repeated = field.is_repeated
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        if repeated:
            getattr(out, field.name).extend(_scalar(field, v) for v in (value if isinstance(value, list) else [value]))
        else:
            setattr(out, field.name, _scalar(field, value))
        return
    if repeated:
        target = getattr(out, field.name)
        for item in value if isinstance(value, list) else [value]:
            target.add().CopyFrom(convert(item, field.message_type))
    else:
        getattr(out, field.name).CopyFrom(convert(value, field.message_type))


def convert(value: Any, desc: Descriptor) -> Message:
    """A JSON value as the gnostic message `desc`."""
    name = desc.name
    out = _new(desc)
    fields = desc.fields_by_name
    if name == "Any":
        return _any(value)
    if name in ("TypeItem", "StringArray"):
        out.value.extend(value if isinstance(value, list) else [value])  # type: ignore[attr-defined]
        return out
    if name == "ItemsItem":
        for item in value if isinstance(value, list) else [value]:
            out.schema.add().CopyFrom(convert(item, fields["schema"].message_type))  # type: ignore[attr-defined]
        return out
    if name == "AdditionalPropertiesItem":
        if isinstance(value, bool):
            out.boolean = value  # type: ignore[attr-defined]
        else:
            out.schema.CopyFrom(convert(value, fields["schema"].message_type))  # type: ignore[attr-defined]
        return out
    if not isinstance(value, dict):
        return out
    if name in _ONEOF:
        branch = fields[_ONEOF[name](value)]
        getattr(out, branch.name).CopyFrom(convert(value, branch.message_type))
        return out
    if list(fields) == ["additional_properties"]:  # a map: {name: value} as Named* entries
        entries = out.additional_properties
        entry = fields["additional_properties"].message_type
        for key, item in value.items():
            entries.add().CopyFrom(_named(entry, key, item))
        return out
    by_json = {f.json_name: f for f in desc.fields}
    if "_ref" in fields:
        by_json["$ref"] = fields["_ref"]
    keyed = _KEYED.get(name)
    for key, item in value.items():
        if key.startswith("x-") and "vendor_extension" in fields:
            out.vendor_extension.add().CopyFrom(_named(  # type: ignore[attr-defined]
                fields["vendor_extension"].message_type, key, item))
        elif keyed is not None:
            getattr(out, keyed).add().CopyFrom(_named(fields[keyed].message_type, key, item))
        elif key in by_json and item is not None:
            _set(out, by_json[key], item)
    return out


@functools.cache
def document_bytes() -> bytes:
    """/openapi/v2 of this server as protobuf (built once, on the first request)."""
    return encode_document(json.loads(openapi.openapi_v2_document()))


def encode_document(doc: dict[str, Any]) -> bytes:
    """The protobuf bytes of a Swagger 2.0 document (the JSON form of /openapi/v2)."""
    message = convert(doc, _pool().FindMessageTypeByName(_PACKAGE + "Document"))
    return message.SerializeToString(deterministic=True)
