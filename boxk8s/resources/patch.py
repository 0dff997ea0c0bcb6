"""The PATCH flavours of the API: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902)
and server-side apply. Pure functions over wire dicts; inputs are never mutated. Failures raise
`PatchError` (or its `ApplyConflict`), which the API layer turns into a Status.

Strategic merge lives in patch_strategic, apply in patch_apply, FieldsV1 sets in patch_fields.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from boxk8s.resources.patch_apply import apply_patch
from boxk8s.resources.patch_errors import ApplyConflict, PatchError
from boxk8s.resources.patch_fields import fields_v1
from boxk8s.resources.patch_strategic import create_two_way_merge_patch, strategic_merge_patch

__all__ = [
    "ApplyConflict",
    "PatchError",
    "apply_patch",
    "create_two_way_merge_patch",
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


def json_patch(original: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """RFC 6902 via the jsonpatch library; any failing operation (a `test` included) fails all."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    try:
        result = jsonpatch.JsonPatch(ops).apply(original, in_place=False)
    except jsonpatch.JsonPatchTestFailed as e:
        raise PatchError(f"the test operation failed: {e}") from e
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
        raise PatchError(f"invalid JSON patch: {e}") from e
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        # jsonpatch lets malformed operations surface as plain Python errors.
        raise PatchError(f"invalid JSON patch: {e!r}") from e
    if not isinstance(result, dict):
        raise PatchError("a JSON patch must leave a JSON object")
    return result
