"""Errors raised by the patch functions; the API layer turns them into 400/409/413/422 Statuses."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that cannot be applied: malformed, or failing one of its own preconditions."""


class JsonPatchFailed(PatchError):
    """A JSON patch that decodes but does not apply: a `test` that fails, a path that is not there,
    an unknown op. The apiserver answers 422 with a generic message (its own words: the library's,
    kept here, do not reach the client)."""


class JsonPatchTooLarge(PatchError):
    """A JSON patch of more operations than the apiserver takes (413 upstream)."""


class ApplyConflict(PatchError):
    """Server-side apply would change fields another manager owns (409 Conflict upstream)."""

    def __init__(self, message: str, conflicts: list[tuple[str, str]]) -> None:
        super().__init__(message)
        # (manager as printed upstream, e.g. `"kubectl" using apps/v1`; field path like
        # ".spec.replicas") pairs, for Status causes.
        self.conflicts = conflicts

    def causes(self) -> list[dict[str, str]]:
        """Status causes as upstream's fieldmanager NewConflictError makes them (a StatusCause's
        Type, FieldManagerConflict, is written as "reason")."""
        return [
            {"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": path}
            for who, path in self.conflicts
        ]
