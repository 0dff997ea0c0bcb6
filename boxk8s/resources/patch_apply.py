"""Server-side apply, simplified: field ownership per manager in `metadata.managedFields`.

The applied configuration is the whole intent of its manager. It is merged into the live object
(keyed lists by their list-map keys, sets as sets, everything else replaced); fields this manager
owned before and no longer applies are removed unless another manager owns them too; changing a
field another manager owns is a conflict unless forced, and forcing takes the field over.
Not modelled: structured-merge-diff's type-aware defaulting, per-version field-set conversion,
and the reset of status fields on the main resource.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from boxk8s.resources import meta
from boxk8s.resources.patch_errors import ApplyConflict, PatchError
from boxk8s.resources.patch_fields import (
    FieldSet,
    Path,
    field_set,
    format_path,
    from_fields_v1,
    item_element,
    list_keys,
    to_fields_v1,
    value_element,
)
from boxk8s.resources.patch_schema import NO_META, FieldMeta, field_meta, item_meta, root_schema

BEFORE_FIRST_APPLY = "before-first-apply"
_MISSING: Any = object()


@dataclasses.dataclass
class _Owner:
    entry: dict[str, Any]
    fields: FieldSet


def apply_patch(
    live: dict[str, Any],
    applied: dict[str, Any],
    definition: str,
    manager: str,
    force: bool,
    *,
    now: str | None = None,
) -> dict[str, Any]:
    """The object after `manager` applies `applied` to `live` ({} when creating)."""
    if not manager:
        raise PatchError("PATCH requests of type apply must specify a fieldManager")
    if not isinstance(applied, dict) or not isinstance(live, dict):
        raise PatchError("an apply configuration must be a JSON object")
    live = copy.deepcopy(live)
    applied = copy.deepcopy(applied)
    if isinstance(applied.get("metadata"), dict):
        applied["metadata"].pop("managedFields", None)  # ownership is the server's to record
    schema = root_schema(definition)
    api_version = str(applied.get("apiVersion") or live.get("apiVersion") or "")

    owners = _owners(live, schema)
    mine = _find_apply_owner(owners, manager)
    previous = mine.fields if mine else set()
    others = [o for o in owners if o is not mine]
    wanted = field_set(applied, schema)
    merged = _merge(copy.deepcopy(live), applied, dataclasses.replace(NO_META, schema=schema))

    conflicts = [(o, p) for p in sorted(wanted) if _changes(live, merged, p) for o in others if p in o.fields]
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for owner, path in conflicts:
        owner.fields.discard(path)  # forced: the field changes hands

    _remove_released(merged, previous, set().union(*(o.fields for o in others)) | wanted)

    # managedFieldsUpdater.Apply (apiserver's fieldmanager): the manager's time moves only when the
    # apply changes the object, so applying the same configuration again writes nothing.
    unchanged = mine is not None and mine.entry.get("time") and merged == live
    entry = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": mine.entry["time"] if mine is not None and unchanged else now or _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(wanted),
    }
    merged.setdefault("metadata", {})["managedFields"] = _entries(owners, mine, entry)
    return merged


def _remove_released(merged: dict[str, Any], previous: FieldSet, kept: FieldSet) -> None:
    """Remove what the manager owned and nobody owns now. Shortest paths first, so a list item
    goes as a whole (its key fields are needed to find it); an item stays while anyone still
    owns a field inside it."""
    removed: list[Path] = []
    for path in sorted(previous - kept, key=len):
        if any(path[: len(r)] == r for r in removed) or _is_item_key(path):
            continue
        if not any(p[: len(path)] == path for p in kept):
            _remove(merged, path)
            removed.append(path)


def _is_item_key(path: Path) -> bool:
    """A key field of a list item: it goes with its item, never alone."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in json.loads(path[-2][2:])


def _now() -> str:
    return meta.now_rfc3339()


def _owners(live: dict[str, Any], schema: dict[str, Any]) -> list[_Owner]:
    metadata = live.get("metadata") if isinstance(live.get("metadata"), dict) else {}
    entries = metadata.get("managedFields")
    if not entries:
        if not _has_content(live):
            return []
        # Upstream gives an object that predates field management to a pseudo-manager, so the
        # first apply conflicts instead of silently taking over fields someone else set.
        return [_Owner({"manager": BEFORE_FIRST_APPLY, "operation": "Update",
                        "apiVersion": live.get("apiVersion", ""), "fieldsType": "FieldsV1"},
                       field_set(live, schema))]
    return [_Owner(e, from_fields_v1(e.get("fieldsV1"))) for e in entries if isinstance(e, dict)]


def _has_content(live: dict[str, Any]) -> bool:
    return any(k not in ("apiVersion", "kind", "metadata") for k in live) or bool(
        set(live.get("metadata") or {}) - {"name", "namespace", "uid", "resourceVersion",
                                          "generation", "creationTimestamp"}
    )


def _find_apply_owner(owners: list[_Owner], manager: str) -> _Owner | None:
    for o in owners:
        e = o.entry
        if e.get("manager") == manager and e.get("operation") == "Apply" and not e.get("subresource"):
            return o
    return None


def _entries(owners: list[_Owner], mine: _Owner | None, entry: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for o in owners:
        if o is mine:
            out.append(entry)
        elif o.fields:  # an entry left owning nothing is dropped, as upstream does
            out.append({**o.entry, "fieldsV1": to_fields_v1(o.fields)})
    if mine is None:
        out.append(entry)
    return out


# --- conflicts -------------------------------------------------------------------------------


def _printed(entry: dict[str, Any]) -> str:
    out = f'"{entry.get("manager", "")}"'
    if entry.get("subresource"):
        out += f' with subresource "{entry["subresource"]}"'
    if entry.get("operation") == "Update":
        out += f" using {entry.get('apiVersion', '')}"
    return out


def _conflict_error(conflicts: list[tuple[_Owner, Path]]) -> ApplyConflict:
    pairs = [(_printed(o.entry), format_path(p)) for o, p in conflicts]
    if len(pairs) == 1:
        who, path = pairs[0]
        return ApplyConflict(f"Apply failed with 1 conflict: conflict with {who}: {path}", pairs)
    lines: list[str] = []
    for who in sorted({w for w, _ in pairs}):
        lines.append(f"conflicts with {who}:")
        lines += [f"- {p}" for w, p in pairs if w == who]
    return ApplyConflict(f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines), pairs)


def _changes(live: dict[str, Any], merged: dict[str, Any], path: Path) -> bool:
    before, after = _get(live, path), _get(merged, path)
    if path and path[-1][:2] in ("k:", "v:"):
        return (before is _MISSING) != (after is _MISSING)  # a member conflicts by presence only
    return before != after


# --- navigating paths ------------------------------------------------------------------------


def _step(value: Any, element: str) -> Any:
    kind, _, rest = element.partition(":")
    if kind == "f":
        return value.get(rest, _MISSING) if isinstance(value, dict) else _MISSING
    if not isinstance(value, list):
        return _MISSING
    at = _index(value, element)
    return _MISSING if at is None else value[at]


def _index(items: list[Any], element: str) -> int | None:
    """The position of a `k:`/`v:` member; key fields absent from the element are ignored."""
    kind, _, rest = element.partition(":")
    wanted = json.loads(rest)
    for i, item in enumerate(items):
        if kind == "v" and item == wanted:
            return i
        if kind == "k" and isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()):
            return i
    return None


def _get(obj: Any, path: Path) -> Any:
    for element in path:
        obj = _step(obj, element)
        if obj is _MISSING:
            return _MISSING
    return obj


def _remove(obj: dict[str, Any], path: Path) -> None:
    parent = _get(obj, path[:-1])
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        at = _index(parent, last)
        if at is not None:
            del parent[at]


# --- merging ---------------------------------------------------------------------------------


def _merge(live: Any, applied: Any, meta: FieldMeta) -> Any:
    """`applied` merged over `live` (both owned by the caller); nulls in `applied` are unset."""
    if isinstance(applied, dict):
        out = live if isinstance(live, dict) else {}
        for key, value in applied.items():
            if value is not None:
                out[key] = _merge(out.get(key, _MISSING), value, field_meta(meta.schema, key))
        return out
    if isinstance(applied, list):
        return _merge_list(live if isinstance(live, list) else [], applied, meta)
    return applied


def _merge_list(live: list[Any], applied: list[Any], meta: FieldMeta) -> list[Any]:
    kind, keys = list_keys(meta)
    if kind == "map" and all(isinstance(v, dict) for v in live + applied):
        out = list(live)
        schema = dataclasses.replace(item_meta(meta.schema), strategies=frozenset())
        for item in applied:
            at = _index(out, item_element(item, keys))
            if at is None:
                out.append(_merge({}, item, schema))
            else:
                out[at] = _merge(out[at], item, schema)
        return out
    if kind == "set" and not any(isinstance(v, dict | list) for v in live + applied):
        present = {value_element(v) for v in live}
        return live + [v for v in applied if value_element(v) not in present]
    return applied
