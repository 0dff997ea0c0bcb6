"""Field sets in the FieldsV1 format of `metadata.managedFields`.

A field set is a set of paths; a path is a tuple of FieldsV1 path elements: `f:<name>` for a
field or map key, `k:{"name":"web"}` for an item of a keyed list, `v:"x"` for a member of a set.
FieldsV1 encodes the set as a tree whose leaves `{}` are members; an inner node that is itself a
member (a keyed list item) carries `".": {}`.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Any

from boxk8s.resources.patch_schema import FieldMeta, Schema, field_meta, item_meta, root_schema

Path = tuple[str, ...]
FieldSet = set[Path]

# Upstream fieldmanager strips these: they identify the object rather than belong to a manager.
STRIPPED: frozenset[Path] = frozenset(
    {("f:apiVersion",), ("f:kind",)}
    | {
        ("f:metadata", f"f:{name}")
        for name in (
            "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
            "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds",
        )
    }
)


def list_keys(meta: FieldMeta) -> tuple[str, tuple[str, ...]]:
    """How server-side apply treats a list: ("map", keys), ("set", ()) or ("atomic", ())."""
    if meta.list_type == "map" and meta.map_keys:
        return "map", meta.map_keys
    if meta.merge_key and "merge" in meta.strategies:
        return "map", (meta.merge_key,)
    if meta.list_type == "set" or "merge" in meta.strategies:
        return "set", ()
    return "atomic", ()


def item_element(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    # A key field left out of the item (a defaulted `protocol`) is left out of the identity too.
    if len(keys) == 1:  # the usual one key (`name`): json.dumps' own text, without its set-up
        value = item.get(keys[0])
        if type(value) is str:
            return f'k:{{{_encode_string(keys[0])}:{_encode_string(value)}}}'
    return "k:" + json.dumps({k: item[k] for k in keys if k in item}, sort_keys=True, separators=(",", ":"))


def value_element(value: Any) -> str:
    if type(value) is str:  # a set's usual member: json.dumps' own string encoding, without its set-up
        return "v:" + _encode_string(value)
    return "v:" + json.dumps(value, sort_keys=True, separators=(",", ":"))


def field_set(obj: dict[str, Any], schema: Schema) -> FieldSet:
    """Every leaf field of `obj` (nulls skipped), keyed list items included as members."""
    out: FieldSet = set()
    _collect_map(obj, schema, (), out)
    return {p for p in out if not _stripped(p)}


_STRIPPED_HEADS = frozenset(s[0] for s in STRIPPED)


def _stripped(path: Path) -> bool:
    return bool(path) and path[0] in _STRIPPED_HEADS and any(path[: len(s)] == s for s in STRIPPED)


def _collect_map(obj: dict[str, Any], schema: Schema, path: Path, out: FieldSet) -> None:
    for key, value in obj.items():
        if value is not None:
            _collect(value, field_meta(schema, key), path + (f"f:{key}",), out)


def _collect(value: Any, meta: FieldMeta, path: Path, out: FieldSet) -> None:
    if isinstance(value, dict) and value:
        _collect_map(value, meta.schema, path, out)
    elif isinstance(value, list) and value:
        _collect_list(value, meta, path, out)
    else:
        out.add(path)  # scalars, empty maps and lists are owned as a whole


def _collect_list(value: list[Any], meta: FieldMeta, path: Path, out: FieldSet) -> None:
    kind, keys = list_keys(meta)
    if kind == "map" and all(isinstance(v, dict) for v in value):
        schema = item_meta(meta.schema).schema
        for item in value:
            at = path + (item_element(item, keys),)
            out.add(at)
            _collect_map(item, schema, at, out)
    elif kind == "set" and not any(isinstance(v, dict | list) for v in value):
        out.update(path + (value_element(v),) for v in value)
    else:
        out.add(path)


_IDENTITY = frozenset(s[0][2:] for s in STRIPPED)  # the top-level fields some of whose fields are stripped


def _tree_of_map(obj: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The FieldsV1 tree of an object's fields, built directly and in order (what
    to_fields_v1(field_set(…)) gives for fields nothing is stripped from, without the set of paths
    between)."""
    out: dict[str, Any] = {}
    for key in sorted(obj):
        value = obj[key]
        if value is None:
            continue
        # Only maps and lists need their schema; any scalar is a leaf (tested by exact type first:
        # most fields are strings, numbers or booleans).
        if type(value) not in _SCALARS and value and isinstance(value, dict | list):
            sub = _tree_of(value, field_meta(schema, key))
            if not sub and isinstance(value, dict):
                continue  # a map of nulls only: no field of it is set (field_set has none either)
            out["f:" + key] = sub
        else:
            out["f:" + key] = {}
    return out


_SCALARS = frozenset({str, int, bool, float})


def _tree_of(value: Any, meta: FieldMeta) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return _tree_of_map(value, meta.schema)
    if isinstance(value, list) and value:
        kind, keys = list_keys(meta)
        if kind == "map" and all(isinstance(v, dict) for v in value):
            schema = item_meta(meta.schema).schema
            items: dict[str, Any] = {}
            merged = False
            for item in value:
                element, sub = item_element(item, keys), _tree_of_map(item, schema)
                if element in items:  # the same key twice: one member, both items' fields
                    _merge_tree(items[element], sub)
                    merged = True
                else:
                    items[element] = sub
            # An item that has fields is itself a member too: "." first, as in to_fields_v1's output.
            out: dict[str, Any] = {}
            for element in sorted(items):
                node = _sorted_tree(items[element]) if merged else items[element]
                out[element] = {".": {}, **node} if node else {}
            return out
        if kind == "set" and not any(isinstance(v, dict | list) for v in value):
            return {k: {} for k in sorted(value_element(v) for v in value)}
    return {}  # scalars, empty maps and lists, atomic lists are owned as a whole


def _merge_tree(into: dict[str, Any], tree: dict[str, Any]) -> None:
    for k, v in tree.items():
        _merge_tree(into.setdefault(k, {}), v)


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    members: set[Path] = set()
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        members.add(path)
    for path in members:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return _sorted_tree(tree)


def _sorted_tree(tree: dict[str, Any]) -> dict[str, Any]:
    # Deterministic, upstream-like output: "." first, then elements in order (every element starts
    # with a letter, `f:`, `k:`, `v:`, `i:`, so plain order puts "." first).
    return {k: _sorted_tree(tree[k]) if tree[k] else {} for k in sorted(tree)}


def from_fields_v1(tree: Any, prefix: Path = ()) -> FieldSet:
    out: FieldSet = set()
    if not isinstance(tree, dict):
        return out
    for element, child in tree.items():
        if element == ".":
            out.add(prefix)
        elif isinstance(child, dict) and child:
            out |= from_fields_v1(child, prefix + (element,))
        else:
            out.add(prefix + (element,))
    return out


_SUBTREES: dict[tuple[str, str, str], dict[str, Any]] = {}  # (definition, field, its JSON) → its FieldsV1
_SUBTREES_MAX = 4096
# (definition, field) → [lookups, hits, calls] of the cache above: a field whose values rarely repeat (every
# object's metadata, the specs of custom resources) skips the cache, whose key costs a JSON encoding
# of the value, but one call in _PROBE still looks, so a field whose values start repeating gets it back.
_RATES: dict[tuple[str, str], list[int]] = {}
_PROBE = 64


def fields_v1(obj: dict[str, Any], definition: str) -> dict[str, Any]:
    """The FieldsV1 set of what `obj` sets (used for managedFields of Update operations).

    Each top-level field's part of the tree depends on that field's value only, and is cached:
    the pods a controller creates from one template share their spec."""
    schema = root_schema(definition)
    tree: dict[str, Any] = {}
    for key in sorted(k for k, v in obj.items() if v is not None and k not in _WHOLE):
        value = obj[key]
        rate = _RATES.get((definition, key))
        if rate is None:
            if len(_RATES) >= _SUBTREES_MAX:
                _RATES.clear()
            rate = _RATES[(definition, key)] = [0, 0, 0]
        rate[2] += 1
        if rate[0] >= _PROBE and rate[1] * 8 < rate[0] and rate[2] % _PROBE:  # under one hit in eight
            tree.update(_part(key, value, schema))
            continue
        rate[0] += 1
        if rate[0] >= 4 * _PROBE:  # the recent lookups weigh most
            rate[0] //= 2
            rate[1] //= 2
        cache_key = (definition, key, json.dumps(value, separators=(",", ":")))
        part = _SUBTREES.get(cache_key)
        if part is None:
            part = _part(key, value, schema)
            if len(_SUBTREES) >= _SUBTREES_MAX:
                _SUBTREES.clear()
            _SUBTREES[cache_key] = part
        else:
            rate[1] += 1
        tree.update(_copy_tree(part))  # a fresh copy: callers may keep and change what we return
    return tree


_WHOLE = frozenset(p[0][2:] for p in STRIPPED if len(p) == 1)  # apiVersion, kind: never in a tree
_STRIPPED_META = frozenset(p[1][2:] for p in STRIPPED if p[0] == "f:metadata")


def _part(key: str, value: Any, schema: Schema) -> dict[str, Any]:
    if key == "metadata" and isinstance(value, dict):  # its stripped fields are whole top-level ones
        kept = {k: v for k, v in value.items() if k not in _STRIPPED_META}
        return _tree_of_map({key: kept}, schema) if kept or not value else {}
    if key in _IDENTITY:  # where fields are stripped: through the field set
        return to_fields_v1(field_set({key: value}, schema))
    return _tree_of_map({key: value}, schema)


def _copy_tree(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy_tree(v) if v else {} for k, v in tree.items()}


def format_path(path: Path) -> str:
    """Upstream's field path rendering: `.spec.containers[name="web"].image`."""
    out = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            fields = json.loads(rest)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in fields.items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
        else:
            out += f"[{rest}]"
    return out

