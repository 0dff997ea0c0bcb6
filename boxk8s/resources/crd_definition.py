"""The CustomResourceDefinition kind itself: its defaults and its validation.

Defaults follow apiextensions/v1/defaults.go (singular and listKind from kind, conversion None,
a webhook service's port 443) and the CRD strategy's PrepareForCreate/PrepareForUpdate (the
storage version joins status.storedVersions). Validation holds the essentials of
apiextensions/validation/validation.go ValidateCustomResourceDefinition and of the structural
schema rules (apiserver/schema/validation.go), with their messages: the name must be
`<plural>.<group>`, a group with a dot (protected groups need the API approval annotation), a
scope, names that are DNS labels, exactly one storage version, a structural schema for every
version (typed everywhere, an object at the root, metadata restricted to name and generateName),
valid list types, subresource paths and printer columns, and defaults that validate.
"""

from __future__ import annotations

from typing import Any

from boxk8s.resources import crd_cel
from boxk8s.resources.crd_structural import compile_schema
from boxk8s.resources.crd_validation import check_value
from boxk8s.resources.field_errors import FieldError, forbidden, invalid, not_supported, required
from boxk8s.resources.names import dns1035_label, dns1123_subdomain

Obj = dict[str, Any]

APPROVAL_ANNOTATION = "api-approved.kubernetes.io"
_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"]
_COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]


# ---- defaults ------------------------------------------------------------------------------------

def crd_defaults(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str) and names["kind"]:
        if not names.get("singular"):
            names["singular"] = names["kind"].lower()
        if not names.get("listKind"):
            names["listKind"] = names["kind"] + "List"
    conversion = spec.get("conversion")
    if conversion is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conversion, dict):
        service = ((conversion.get("webhook") or {}).get("clientConfig") or {}).get("service")
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443
    for v in spec.get("versions") or []:
        if isinstance(v, dict) and v.get("served") is None:
            v["served"] = False
        if isinstance(v, dict) and v.get("storage") is None:
            v["storage"] = False
    _status_defaults(obj, spec)


def prepare_for_create(rt: Any, obj: Obj) -> None:
    """The CRD strategy's PrepareForCreate: status is the server's (accepted names to come, the
    storage version stored)."""
    obj["status"] = {}
    spec = obj.get("spec")
    _status_defaults(obj, spec if isinstance(spec, dict) else {})


def _status_defaults(obj: Obj, spec: Obj) -> None:
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    accepted = status.get("acceptedNames")
    if not isinstance(accepted, dict):
        status["acceptedNames"] = accepted = {}
    accepted.setdefault("kind", "")
    accepted.setdefault("plural", "")
    stored = status.get("storedVersions")
    if not isinstance(stored, list):
        stored = status["storedVersions"] = []
    for v in spec.get("versions") or []:
        if isinstance(v, dict) and v.get("storage") and v.get("name") and v["name"] not in stored:
            stored.append(v["name"])


# ---- validation ----------------------------------------------------------------------------------

def _protected(group: str) -> bool:
    return any(group == g or group.endswith("." + g) for g in ("k8s.io", "kubernetes.io"))


def validate_crd(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    name = md.get("name")
    if isinstance(name, str) and name and name != f"{names.get('plural', '')}.{group}":
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        errs.append(required("spec.group"))
    elif msgs := dns1123_subdomain(group):
        errs.append(invalid("spec.group", group, ",".join(msgs)))
    elif "." not in group:
        errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    errs += _versions(spec)
    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            errs.append(required(f"spec.names.{key}"))
    errs += _names(names, "spec.names")
    conversion = spec.get("conversion") if isinstance(spec.get("conversion"), dict) else {}
    strategy = conversion.get("strategy")
    if not strategy:
        errs.append(required("spec.conversion.strategy"))
    elif strategy not in ("None", "Webhook"):
        errs.append(not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
    elif strategy == "Webhook" and not (conversion.get("webhook") or {}).get("clientConfig"):
        errs.append(required("spec.conversion.webhook.clientConfig", "required when strategy is set to Webhook"))
    if group and _protected(group):
        annotation = (md.get("annotations") or {}).get(APPROVAL_ANNOTATION)
        if not annotation:
            errs.append(required(f"metadata.annotations[{APPROVAL_ANNOTATION}]",
                                 f'protected groups must have approval annotation "{APPROVAL_ANNOTATION}", '
                                 "see https://github.com/kubernetes/enhancements/pull/1111"))
        elif not (annotation.startswith("unapproved") or "://" in annotation):
            errs.append(invalid(f"metadata.annotations[{APPROVAL_ANNOTATION}]", annotation,
                                f'protected groups must have approval annotation "{APPROVAL_ANNOTATION}" with either '
                                'a URL or a reason starting with "unapproved", see '
                                "https://github.com/kubernetes/enhancements/pull/1111"))
    errs += _stored_versions(obj, spec)
    return errs


def _names(names: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("plural", "singular"):
        value = names.get(key)
        if isinstance(value, str) and value and (msgs := dns1035_label(value)):
            errs.append(invalid(f"{path}.{key}", value, ",".join(msgs)))
    for key in ("kind", "listKind"):
        value = names.get(key)
        if isinstance(value, str) and value and (msgs := dns1035_label(value.lower())):
            errs.append(invalid(f"{path}.{key}", value, "may have mixed case, but should otherwise match: "
                                + ",".join(msgs)))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or []):
            if isinstance(value, str) and (msgs := dns1035_label(value)):
                errs.append(invalid(f"{path}.{key}[{i}]", value, ",".join(msgs)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid(f"{path}.listKind", names["listKind"], "kind and listKind may not be the same"))
    return errs


def _versions(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    seen: set[str] = set()
    unique = True
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        vname = v.get("name") if isinstance(v.get("name"), str) else ""
        if vname in seen:
            unique = False
        seen.add(vname)
        if msgs := dns1035_label(vname):
            errs.append(invalid(f"{path}.name", vname, ",".join(msgs)))
        schema = (v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v.get("schema"), dict) else None
        if not isinstance(schema, dict):
            errs.append(required(f"{path}.schema.openAPIV3Schema", "schemas are required"))
        else:
            errs += validate_schema(schema, f"{path}.schema.openAPIV3Schema")
        errs += _subresources(v.get("subresources"), f"{path}.subresources")
        for j, col in enumerate(v.get("additionalPrinterColumns") or []):
            errs += _column(col if isinstance(col, dict) else {}, f"{path}.additionalPrinterColumns[{j}]")
        if v.get("deprecationWarning") is not None and not v.get("deprecated"):
            errs.append(invalid(f"{path}.deprecationWarning", v["deprecationWarning"],
                                "can only be set for deprecated versions"))
    if not unique:
        errs.append(invalid("spec.versions", versions, "must contain unique version names"))
    if sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    return errs


def _stored_versions(obj: Obj, spec: Obj) -> list[FieldError]:
    stored = (obj.get("status") or {}).get("storedVersions") or []
    path = "status.storedVersions"
    if not stored:
        return [invalid(path, stored, "must have at least one stored version")]
    names = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)]
    errs = []
    for v in spec.get("versions") or []:
        if isinstance(v, dict) and v.get("storage") and v.get("name") not in stored:
            errs.append(invalid(path, v, f"must have the storage version {v.get('name')}"))
    for i, s in enumerate(stored):
        if s not in names:
            errs.append(invalid(f"{path}[{i}]", s, "must appear in spec.versions"))
    return errs


def _subresources(subresources: Any, path: str) -> list[FieldError]:
    if not isinstance(subresources, dict) or not isinstance(subresources.get("scale"), dict):
        return []
    scale = subresources["scale"]
    errs: list[FieldError] = []
    for key, under in (("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")):
        value = scale.get(key)
        where = f"{path}.scale.{key}"
        if not value:
            errs.append(required(where))
        elif not isinstance(value, str) or not value.startswith(under):
            errs.append(invalid(where, value, f"should be a json path under {under.rstrip('.')}"))
    selector = scale.get("labelSelectorPath")
    if selector and not (isinstance(selector, str) and selector.startswith((".spec.", ".status."))):
        errs.append(invalid(f"{path}.scale.labelSelectorPath", selector,
                            "should be a json path under either .spec or .status"))
    return errs


def _column(col: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not col.get("name"):
        errs.append(required(f"{path}.name"))
    ctype = col.get("type")
    if not ctype:
        errs.append(required(f"{path}.type", "must be one of " + ",".join(_COLUMN_TYPES)))
    elif ctype not in _COLUMN_TYPES:
        errs.append(invalid(f"{path}.type", ctype, "must be one of " + ",".join(_COLUMN_TYPES)))
    if col.get("format") and col["format"] not in _COLUMN_FORMATS:
        errs.append(invalid(f"{path}.format", col["format"], "must be one of " + ",".join(_COLUMN_FORMATS)))
    if not col.get("jsonPath"):
        errs.append(required(f"{path}.JSONPath"))
    return errs


# ---- the schema of a version -------------------------------------------------------------------

_ROOT, _ITEM, _FIELD = "root", "item", "field"


def validate_schema(schema: Obj, path: str) -> list[FieldError]:
    """ValidateCustomResourceDefinitionOpenAPISchema + ValidateStructural, essentials; then the
    defaults, which must validate against their schema (defaulting.ValidateDefaults)."""
    errs: list[FieldError] = []
    if schema.get("nullable") is True:
        errs.append(forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    _schema(schema, path, _ROOT, errs)
    if not errs:
        _defaults(schema, path, errs)
    return errs


def _schema(s: Obj, path: str, level: str, errs: list[FieldError], nested: bool = False) -> None:
    t = s.get("type")
    if isinstance(t, str) and t and t not in _TYPES:
        errs.append(not_supported(f"{path}.type", t, _TYPES))
    if s.get("uniqueItems") is True:
        errs.append(forbidden(f"{path}.uniqueItems",
                              "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    extra = s.get("additionalProperties")
    if extra is not None and props and (extra is False or isinstance(extra, dict)):
        errs.append(forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"))
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined"))
    list_type = s.get("x-kubernetes-list-type")
    if list_type is not None:
        if t != "array":
            if not t:
                errs.append(required(f"{path}.type", "must be array if x-kubernetes-list-type is specified"))
            else:
                errs.append(invalid(f"{path}.type", t, "must be array if x-kubernetes-list-type is specified"))
        if list_type not in ("atomic", "set", "map"):
            errs.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys and list_type != "map":
        if list_type is None:
            errs.append(required(f"{path}.x-kubernetes-list-type", "must be map if x-kubernetes-list-map-keys is non-empty"))
        else:
            errs.append(invalid(f"{path}.x-kubernetes-list-type", list_type,
                                "must be map if x-kubernetes-list-map-keys is non-empty"))
    if list_type == "map":
        _map_list(s, keys, path, errs)
    for i, rule in enumerate(s.get("x-kubernetes-validations") or []):
        _rule(rule if isinstance(rule, dict) else {}, f"{path}.x-kubernetes-validations[{i}]", errs)
    if not nested:
        _structural(s, t, path, level, errs)
    for k, child in props.items():
        if isinstance(child, dict):
            _schema(child, f"{path}.properties[{k}]", _FIELD, errs, nested)
    if isinstance(extra, dict):
        _schema(extra, f"{path}.additionalProperties", _FIELD, errs, nested)
    items = s.get("items")
    if isinstance(items, dict):
        _schema(items, f"{path}.items", _ITEM, errs, nested)
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(s.get(key) or []):
            if isinstance(sub, dict):
                _schema(sub, f"{path}.{key}[{i}]", level, errs, nested=True)
                _value_validation_only(sub, f"{path}.{key}[{i}]", errs, int_or_string=s.get("x-kubernetes-int-or-string") is True and key == "anyOf")
    if isinstance(s.get("not"), dict):
        _schema(s["not"], f"{path}.not", level, errs, nested=True)
        _value_validation_only(s["not"], f"{path}.not", errs)


def _structural(s: Obj, t: Any, path: str, level: str, errs: list[FieldError]) -> None:
    embedded = s.get("x-kubernetes-embedded-resource") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    if t == "array" and not isinstance(s.get("items"), dict):
        errs.append(required(f"{path}.items", "must be specified"))
    if s.get("additionalProperties") is not None and level == _ROOT:
        errs.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
    if int_or_string and preserve:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                            "must be false if x-kubernetes-int-or-string is true"))
    if int_or_string and embedded:
        errs.append(invalid(f"{path}.x-kubernetes-embedded-resource", True,
                            "must be false if x-kubernetes-int-or-string is true"))
    if embedded and t != "object":
        if not t:
            errs.append(required(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true"))
        else:
            errs.append(invalid(f"{path}.type", t, "must be object if x-kubernetes-embedded-resource is true"))
    elif not t and not int_or_string and not preserve:
        detail = {_ROOT: "must not be empty at the root", _ITEM: "must not be empty for specified array items",
                  _FIELD: "must not be empty for specified object fields"}[level]
        errs.append(required(f"{path}.type", detail))
    if embedded and s.get("additionalProperties") is not None:
        errs.append(forbidden(f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set"))
    if level == _ROOT and t and t != "object":
        errs.append(invalid(f"{path}.type", t, "must be object at the root"))
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    check_meta = level == _ROOT or embedded
    for key in ("kind", "apiVersion"):
        child = props.get(key)
        if check_meta and isinstance(child, dict) and child.get("type") != "string":
            errs.append(invalid(f"{path}.properties[{key}].type", child.get("type", ""), "must be string"))
    metadata = props.get("metadata")
    if isinstance(metadata, dict):
        if check_meta and metadata.get("type") != "object":
            errs.append(invalid(f"{path}.properties[metadata].type", metadata.get("type", ""), "must be object"))
        if level == _ROOT and not _only_names(metadata):
            errs.append(forbidden(f"{path}.properties[metadata]", "must not specify anything other than name and "
                                  "generateName, but metadata is implicitly specified"))
    if embedded and not preserve and not props:
        errs.append(required(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource is true "
                             "without x-kubernetes-preserve-unknown-fields"))


def _only_names(metadata: Obj) -> bool:
    allowed = {"type", "properties", "description"}
    if set(metadata) - allowed:
        return False
    props = metadata.get("properties") or {}
    return isinstance(props, dict) and set(props) <= {"name", "generateName"}


_FORBIDDEN_NESTED = (("type", "must be empty to be structural"), ("additionalProperties", "must be undefined to be structural"),
                     ("default", "must be undefined to be structural"), ("title", "must be empty to be structural"),
                     ("description", "must be empty to be structural"),
                     ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
                     ("x-kubernetes-embedded-resource", "must be false to be structural"),
                     ("x-kubernetes-int-or-string", "must be false to be structural"),
                     ("x-kubernetes-list-map-keys", "must be empty to be structural"),
                     ("x-kubernetes-list-type", "must be undefined to be structural"),
                     ("x-kubernetes-map-type", "must be undefined to be structural"),
                     ("x-kubernetes-validations", "must be empty to be structural"))


def _value_validation_only(s: Obj, path: str, errs: list[FieldError], int_or_string: bool = False) -> None:
    """Under allOf/anyOf/oneOf/not only value validations (validateNestedValueValidation); the
    int-or-string pattern (anyOf: [{type: integer}, {type: string}]) is the exception."""
    for key, detail in _FORBIDDEN_NESTED:
        if key == "type" and int_or_string:
            continue
        value = s.get(key)
        if value not in (None, False, "", [], {}):
            errs.append(forbidden(f"{path}.{key}", detail))
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    if "metadata" in props:
        errs.append(forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))


def _map_list(s: Obj, keys: list[Any], path: str, errs: list[FieldError]) -> None:
    if not keys:
        errs.append(required(f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"))
    items = s.get("items")
    if not isinstance(items, dict):
        errs.append(required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
        return
    if items.get("type") != "object":
        errs.append(invalid(f"{path}.items.type", items.get("type", ""),
                            "must be object if parent array's x-kubernetes-list-type is map"))
        return
    item_props = items.get("properties") if isinstance(items.get("properties"), dict) else {}
    required_keys = set(items.get("required") or [])
    seen: set[str] = set()
    for k in keys:
        prop = item_props.get(k)
        if not isinstance(prop, dict):
            errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys, "entries must all be names of item properties"))
        else:
            if prop.get("type") in ("array", "object"):
                errs.append(invalid(f"{path}.items.properties[{k}].type", items.get("type"),
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map"))
            if k not in required_keys and "default" not in prop:
                errs.append(required(f"{path}.items.properties[{k}].default", "this property is in "
                                     "x-kubernetes-list-map-keys, so it must have a default or be a required property"))
        if k in seen:
            errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys, "must not contain duplicate entries"))
        seen.add(k)


def _rule(rule: Obj, path: str, errs: list[FieldError]) -> None:
    text = str(rule.get("rule") or "").strip()
    message = rule.get("message")
    if not text:
        errs.append(required(f"{path}.rule", "rule is not specified"))
        return
    if message is not None and isinstance(message, str) and message and not message.strip():
        errs.append(invalid(f"{path}.message", message, "message must be non-empty if specified"))
    elif isinstance(message, str) and ("\n" in message.strip() or "\r" in message.strip()):
        errs.append(invalid(f"{path}.message", message, "message must not contain line breaks"))
    elif ("\n" in text or "\r" in text) and not (message or "").strip():
        errs.append(required(f"{path}.message", "message must be specified if rule contains line breaks"))
    reason = rule.get("reason")
    if reason is not None and reason not in ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
                                             "FieldValueDuplicate"):
        errs.append(not_supported(f"{path}.reason", reason, ["FieldValueDuplicate", "FieldValueForbidden",
                                                             "FieldValueInvalid", "FieldValueRequired"]))
    if ".?" not in text and "[?" not in text:  # optional syntax: beyond cel-python's grammar, never refused
        problem = crd_cel.syntax_error(text)
        if problem:
            errs.append(invalid(f"{path}.rule", text, f"compilation failed: ERROR: <input>: {problem}"))


def _defaults(schema: Obj, path: str, errs: list[FieldError]) -> None:
    """Every default validates against its own schema (defaulting/validation.go), reported at the
    default's path."""
    _defaults_at(schema, path, errs, top=True)


def _defaults_at(s: Obj, path: str, errs: list[FieldError], top: bool = False) -> None:
    if "default" in s and not top:
        check_value(s["default"], compile_schema(s), f"{path}.default", errs)
    for k, child in (s.get("properties") or {}).items():
        if isinstance(child, dict):
            if top and k == "metadata" and "default" in child:
                errs.append(forbidden(f"{path}.properties[metadata].default", "must not be set in top-level metadata"))
                continue
            _defaults_at(child, f"{path}.properties[{k}]", errs)
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            _defaults_at(s[key], f"{path}.{key}", errs)
