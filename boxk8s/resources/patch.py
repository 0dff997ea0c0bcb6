"""The PATCH flavours of the API: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902)
and server-side apply. Pure functions over wire dicts; inputs are never mutated. Failures raise
`PatchError` (or one of its kinds: `ApplyConflict`, `JsonPatchFailed`, `JsonPatchTooLarge`), which
the API layer turns into a Status.

Strategic merge lives in patch_strategic, apply in patch_apply, FieldsV1 sets in patch_fields.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from boxk8s.resources.patch_apply import apply_patch
from boxk8s.resources.patch_errors import ApplyConflict, JsonPatchFailed, JsonPatchTooLarge, PatchError
from boxk8s.resources.patch_fields import fields_v1
from boxk8s.resources.patch_strategic import create_two_way_merge_patch, strategic_merge_patch

__all__ = [
    "ApplyConflict",
    "JsonPatchFailed",
    "JsonPatchTooLarge",
    "PatchError",
    "apply_patch",
    "create_two_way_merge_patch",
    "decode_json_patch",
    "fields_v1",
    "json_merge_patch",
    "json_patch",
    "strategic_merge_patch",
]


def json_merge_patch(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386. The top-level patch must be an object: a Kubernetes object cannot become a
    scalar or a list."""
    if not isinstance(patch, dict):
        raise PatchError("a merge patch must be a JSON object")
    result = _merge_patch(original, patch)
    assert isinstance(result, dict)
    return result


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


# maxJSONPatchOperations (apiserver/pkg/endpoints/handlers/patch.go).
MAX_JSON_PATCH_OPERATIONS = 10000


def go_kind(value: Any) -> str:
    """How encoding/json names a JSON value in an UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "value")


def decode_json_patch(body: Any) -> list[Any]:
    """A JSON patch's operations as the apiserver decodes them (jsonPatcher.applyJSPatch, with
    fieldValidation Warn or Strict: kjson.UnmarshalStrict into []jsonPatchOp, whose op, path and
    from are strings): a PatchError with encoding/json's message for the first value of the wrong
    type (400 upstream). `null` is no operations, as in Go."""
    prefix = "error decoding patch: json: cannot unmarshal"
    if body is None:
        return []
    if not isinstance(body, list):
        raise PatchError(f"{prefix} {go_kind(body)} into Go value of type []handlers.jsonPatchOp")
    for op in body:
        if op is None:
            continue
        if not isinstance(op, dict):
            raise PatchError(f"{prefix} {go_kind(op)} into Go value of type handlers.jsonPatchOp")
        for key, value in op.items():
            if key in ("op", "path", "from") and value is not None and not isinstance(value, str):
                raise PatchError(f"{prefix} {go_kind(value)} into Go struct field jsonPatchOp.{key} of type string")
    if len(body) > MAX_JSON_PATCH_OPERATIONS:
        raise JsonPatchTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(body)}")
    return body


def json_patch(original: dict[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 via the jsonpatch library; any failing operation (a `test` included) fails all.

    A body that does not decode raises PatchError; one that does not apply, JsonPatchFailed."""
    decoded = decode_json_patch(ops)
    try:
        result = jsonpatch.JsonPatch([op if op is not None else {} for op in decoded]).apply(original, in_place=False)
    except jsonpatch.JsonPatchTestFailed as e:
        raise JsonPatchFailed(f"the test operation failed: {e}") from e
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
        raise JsonPatchFailed(f"invalid JSON patch: {e}") from e
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        # jsonpatch lets malformed operations surface as plain Python errors.
        raise JsonPatchFailed(f"invalid JSON patch: {e!r}") from e
    if not isinstance(result, dict):
        raise JsonPatchFailed("a JSON patch must leave a JSON object")
    return result
