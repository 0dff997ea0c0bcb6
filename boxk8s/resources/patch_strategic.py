"""Strategic merge patch, following k8s.io/apimachinery/pkg/util/strategicpatch.

Applying (`strategic_merge_patch`) mirrors upstream `mergeMap`/`mergeSlice` with the server-side
options (MergeParallelList, IgnoreUnmatchedNulls): directives `$patch`, `$retainKeys`,
`$setElementOrder/<f>` and `$deleteFromPrimitiveList/<f>` are interpreted, never stored.
Diffing (`create_two_way_merge_patch`) mirrors upstream `diffMaps` with SetElementOrder on, the
patch shape kubectl sends. Inputs are deep-copied once, then the copies are mutated freely, as
upstream does with its decoded maps.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from boxk8s.resources.patch_errors import PatchError
from boxk8s.resources.patch_schema import FieldMeta, Schema, field_meta, item_meta, root_schema

DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_PREFIX = "$deleteFromPrimitiveList"
ORDER_PREFIX = "$setElementOrder"

_MISSING: Any = object()


# ---------------------------------------------------------------------------------------------
# Value helpers


def _hkey(value: Any) -> Any:
    """A hashable identity with JSON equality: 1 == 1.0 (Go decodes both to float64) but
    True != 1 (Python would say equal)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z", None)
    return ("j", json.dumps(value, sort_keys=True))


def _same(a: Any, b: Any) -> bool:
    return _hkey(a) == _hkey(b)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _element_kind(values: list[Any]) -> str:
    """"map" or "scalar" for the items of a list; lists of lists and mixes are not patchable."""
    kinds = {_kind(v) for v in values}
    if "list" in kinds:
        raise PatchError("lists of lists are not supported")
    if len(kinds) > 1:
        raise PatchError(f"list element types are not identical: {values}")
    return kinds.pop() if kinds else "scalar"


def _strip_prefix(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if head != prefix or not sep:
        raise PatchError(f"invalid patch: bad format of {prefix} key {key!r}")
    return rest


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for v in values:
        if _hkey(v) not in seen:
            seen.add(_hkey(v))
            out.append(v)
    return out


# ---------------------------------------------------------------------------------------------
# Applying a patch


def strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any], definition: str) -> dict[str, Any]:
    """Apply a strategic merge patch to `original` (a wire object of the given definition)."""
    if not isinstance(original, dict) or not isinstance(patch, dict):
        raise PatchError("a strategic merge patch and its target must be JSON objects")
    return merge_map(copy.deepcopy(original), copy.deepcopy(patch), root_schema(definition))


def merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Merge `patch` into `original` (both owned by the caller, both mutated)."""
    if DIRECTIVE in patch:
        return _map_directive(patch, schema)
    _apply_retain_keys(original, patch)
    # Ordered lists first: they consume their list from the patch so the loop below skips it.
    _merge_ordered_lists(original, patch, schema)
    for key, value in patch.items():
        if key.startswith(DELETE_PREFIX):
            _delete_from_primitive_list(original, _strip_prefix(key, DELETE_PREFIX), value)
        elif value is None:
            original.pop(key, None)
        else:
            original[key] = _merge_value(original.get(key, _MISSING), value, field_meta(schema, key))
    return original


def _merge_value(current: Any, value: Any, meta: FieldMeta) -> Any:
    """The merged value of one field. A field absent (or of another type) in the original is
    merged into an empty value rather than copied, so that directives never reach storage."""
    kind = _kind(value)
    if kind == "scalar":
        return value
    if current is _MISSING or _kind(current) != kind:
        current = {} if kind == "map" else []
    if kind == "map":
        if meta.strategy == REPLACE:
            return merge_map({}, value, meta.schema)
        return merge_map(current, value, meta.schema)
    if meta.strategy == MERGE:
        return merge_list(current, value, meta)
    return value  # lists without a merge strategy are atomic


def _map_directive(patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    directive = patch.pop(DIRECTIVE)
    if directive == REPLACE:
        return merge_map({}, patch, schema)
    if directive == DELETE:
        return {}
    raise PatchError(f"unknown patch type {directive!r} in map {patch}")


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: clear every original key not listed; every set patch key must be listed."""
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise PatchError("invalid patch format of retainKeys: not a list")
    allowed = {k for k in keep if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PREFIX, ORDER_PREFIX)):
            continue
        if key not in allowed:
            raise PatchError(f"invalid patch format of retainKeys: {key!r} is not in {keep}")
    for key in list(original):
        if key not in allowed:
            del original[key]


def _delete_from_primitive_list(original: dict[str, Any], key: str, to_delete: Any) -> None:
    if not isinstance(to_delete, list):
        raise PatchError(f"invalid patch: {DELETE_PREFIX}/{key} must be a list")
    current = original.get(key)
    if isinstance(current, list):
        gone = {_hkey(v) for v in to_delete}
        original[key] = [v for v in current if _hkey(v) not in gone]


def merge_list(original: list[Any], patch: list[Any], meta: FieldMeta) -> list[Any]:
    """Upstream `mergeSlice` for a list with patch strategy merge."""
    if not original and not patch:
        return original
    kind = _element_kind(original + patch)
    if kind == "scalar":
        merged = _dedupe(original + patch)
    else:
        if not meta.merge_key:
            raise PatchError("cannot merge lists of objects without a merge key")
        original, patch = _list_directives(original, patch, meta.merge_key)
        merged = _merge_items(original, patch, meta)
    return _enforce_order(merged, patch, original, meta.merge_key, kind)


def _list_directives(original: list[Any], patch: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """Handle `$patch: delete|replace` items: returns the new original and the plain patch."""
    plain = []
    replace = False
    for item in patch:
        directive = item.get(DIRECTIVE, _MISSING)
        if directive is _MISSING:
            plain.append(item)
        elif directive == DELETE:
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
            original = [o for o in original if not (key in o and _same(o[key], item[key]))]
        elif directive == REPLACE:
            replace = True  # keep scanning: other directive items are still to be pruned
        elif directive == MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type {directive!r} in map {item}")
    if replace:
        return plain, []
    return original, plain


def _merge_items(original: list[Any], patch: list[Any], meta: FieldMeta) -> list[Any]:
    schema = item_meta(meta.schema).schema
    key = meta.merge_key
    merged = list(original)
    for item in patch:
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        at = _find(merged, key, item[key])
        if at is None:
            merged.append(merge_map({}, item, schema))
        else:
            merged[at] = merge_map(merged[at], item, schema)
    return merged


def _find(items: list[Any], key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"value at index {i} is not a map")
        if key in item and _same(item[key], value):
            return i
    return None


# --- ordering (upstream normalizeElementOrder and friends) -----------------------------------


def _identity(item: Any, key: str, kind: str) -> Any:
    return _hkey(item.get(key) if kind == "map" and isinstance(item, dict) else item)


def _index(order: list[Any], item: Any, key: str, kind: str) -> int:
    ident = _identity(item, key, kind)
    for i, other in enumerate(order):
        if _identity(other, key, kind) == ident:
            return i
    return -1


def _sort_by(items: list[Any], order: list[Any], key: str, kind: str) -> list[Any]:
    """Stable sort by position in `order`; items not found keep their place at the end."""
    def rank(item: Any) -> int:
        i = _index(order, item, key, kind)
        return i if i >= 0 else len(order)
    return sorted(items, key=rank)


def _enforce_order(merged: list[Any], patch_order: list[Any], server_order: list[Any], key: str, kind: str) -> list[Any]:
    """Items named by the patch follow the patch order; server-only items keep their live order;
    the two are interleaved by live position. Upstream puts an item new to the live list before
    the remaining server-only items (see kubectl patch docs: a patched-in container comes first)."""
    in_patch = {_identity(p, key, kind) for p in patch_order}
    patch_items = [m for m in merged if _identity(m, key, kind) in in_patch]
    server_only = [m for m in merged if _identity(m, key, kind) not in in_patch]
    patch_items = _sort_by(patch_items, patch_order, key, kind)
    server_only = _sort_by(server_only, server_order, key, kind)
    return _merge_sorted(server_only, patch_items, server_order, key, kind)


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], key: str, kind: str) -> list[Any]:
    """Upstream mergeSortedSlice: a left item goes first only if both are live and it was first."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], key, kind)
            ri = _index(server_order, right[j], key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> None:
    """`$setElementOrder/<field>`: merge the field's list, then order it by the directive
    (precedence: directive > patch list order > live order)."""
    for directive in [k for k in patch if k.startswith(ORDER_PREFIX)]:
        order = patch.pop(directive)
        field = _strip_prefix(directive, ORDER_PREFIX)
        if not isinstance(order, list):
            raise PatchError(f"invalid patch: {directive} must be a list")
        meta = field_meta(schema, field)
        live = original.get(field, _MISSING)
        change = patch.pop(field, _MISSING)
        if live is _MISSING and change is _MISSING:
            continue
        if (live is not _MISSING and not isinstance(live, list)) or (change is not _MISSING and not isinstance(change, list)):
            raise PatchError(f"invalid patch: {field} must be a list to use {directive}")
        live_list: list[Any] = [] if live is _MISSING else live
        change_list: list[Any] = [] if change is _MISSING else change
        _validate_order(change_list, order, meta.merge_key)
        kind = _element_kind(live_list + change_list)
        merged = live if change is _MISSING else _merge_value(live, change, meta)
        if not merged:
            original[field] = merged
            continue
        original[field] = _enforce_order(merged, order, live_list, meta.merge_key, kind)


def _validate_order(change: list[Any], order: list[Any], key: str) -> None:
    """The patch list (deletions aside) must be a subsequence of the `$setElementOrder` list."""
    if not change or not order:
        return
    items = [c for c in change if not (isinstance(c, dict) and DIRECTIVE in c)]
    kind = "map" if key else "scalar"
    if kind == "map" and not all(isinstance(x, dict) and key in x for x in items + order):
        raise PatchError(f"every item of the list and of {ORDER_PREFIX} must have merge key {key}")
    i = 0
    for wanted in order:
        if i < len(items) and _identity(items[i], key, kind) == _identity(wanted, key, kind):
            i += 1
    if i < len(items):
        raise PatchError(f"the order in patch list {change} doesn't match {ORDER_PREFIX} list {order}")


# ---------------------------------------------------------------------------------------------
# Computing a patch


def create_two_way_merge_patch(original: dict[str, Any], modified: dict[str, Any], definition: str) -> dict[str, Any]:
    """A strategic merge patch turning `original` into `modified` (upstream CreateTwoWayMergePatch)."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        raise PatchError("both documents must be JSON objects")
    return diff_maps(original, modified, root_schema(definition), retain_keys=False)


def diff_maps(original: dict[str, Any], modified: dict[str, Any], schema: Schema, retain_keys: bool) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, new in modified.items():
        old = original.get(key, _MISSING)
        if old is _MISSING or _kind(old) != _kind(new) or (new is None) != (old is None):
            if old is _MISSING or not _same(old, new):
                patch[key] = copy.deepcopy(new)
        elif key == DIRECTIVE:
            if old != new:
                patch[key] = new
        elif isinstance(new, dict):
            _diff_map_field(key, old, new, field_meta(schema, key), patch)
        elif isinstance(new, list):
            _diff_list_field(key, old, new, field_meta(schema, key), patch)
        elif not _same(old, new):
            patch[key] = new
    for key in original:
        if key not in modified:
            patch[key] = None
    if retain_keys and patch:
        patch[RETAIN_KEYS] = sorted(k for k, v in modified.items() if v is not None)
    return patch


def _diff_map_field(key: str, old: dict[str, Any], new: dict[str, Any], meta: FieldMeta, patch: dict[str, Any]) -> None:
    if meta.strategy == REPLACE:
        if not _same(old, new):
            patch[key] = copy.deepcopy(new)
        return
    sub = diff_maps(old, new, meta.schema, meta.retain_keys)
    if sub:
        patch[key] = sub


def _diff_list_field(key: str, old: list[Any], new: list[Any], meta: FieldMeta, patch: dict[str, Any]) -> None:
    if meta.strategy != MERGE:
        if not _same(old, new):
            patch[key] = copy.deepcopy(new)
        return
    if not old:
        if new:
            patch[key] = copy.deepcopy(new)
        return
    if _element_kind(old + new) == "map":
        changes, order = _diff_lists_of_maps(old, new, meta)
        deletions: list[Any] = []
    else:
        changes, deletions, order = _diff_lists_of_scalars(old, new)
    if changes:
        patch[key] = changes
    if deletions:
        patch[f"{DELETE_PREFIX}/{key}"] = deletions
    if order:
        patch[f"{ORDER_PREFIX}/{key}"] = order


def _diff_lists_of_maps(old: list[Any], new: list[Any], meta: FieldMeta) -> tuple[list[Any], list[Any]]:
    key = meta.merge_key
    if not key:
        raise PatchError("cannot diff lists of objects without a merge key")
    for item in old + new:
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
    schema = item_meta(meta.schema).schema
    by_key = {_hkey(o[key]): o for o in old}
    new_keys = {_hkey(n[key]) for n in new}
    changes: list[Any] = []
    for item in new:  # in modified order, as upstream normalizes the patch list
        before = by_key.get(_hkey(item[key]))
        if before is None:
            changes.append(copy.deepcopy(item))
            continue
        sub = diff_maps(before, item, schema, meta.retain_keys)
        if sub:
            sub[key] = item[key]
            changes.append(sub)
    changes += [{DIRECTIVE: DELETE, key: o[key]} for o in old if _hkey(o[key]) not in new_keys]
    same_order = len(old) == len(new) and all(_same(o[key], n[key]) for o, n in zip(old, new, strict=True))
    order = [{key: n[key]} for n in new] if changes or not same_order else []
    return changes, order


def _diff_lists_of_scalars(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    old_keys = {_hkey(v) for v in old}
    new_keys = {_hkey(v) for v in new}
    additions = _dedupe([v for v in new if _hkey(v) not in old_keys])
    deletions = _dedupe([v for v in old if _hkey(v) not in new_keys])
    order = list(new) if deletions or not _same(old, new) else []
    return additions, deletions, order
