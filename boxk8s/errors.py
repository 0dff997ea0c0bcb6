"""The API error hierarchy: each error knows the Kubernetes `Status` it becomes.

Raised anywhere above the store (with `from` the cause), turned into a Status body by the
API's error middleware. Reasons are the exact strings clients match on (metav1.StatusReason).
"""

from __future__ import annotations

from typing import Any

# metav1.StatusCause's fields in the order of the Go struct (Type is written as "reason").
_CAUSE_KEYS = ("reason", "message", "field")


def status_details(
    *,
    name: str = "",
    group: str = "",
    kind: str = "",
    uid: str = "",
    causes: list[dict[str, str]] | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """metav1.StatusDetails as the apiserver writes it: the Go struct's field order (name, group,
    kind, uid, causes, retryAfterSeconds), every field omitempty, each cause's too."""
    details: dict[str, Any] = {}
    for key, value in (("name", name), ("group", group), ("kind", kind), ("uid", uid)):
        if value:
            details[key] = value
    if causes:
        details["causes"] = [{k: c[k] for k in _CAUSE_KEYS if c.get(k)} for c in causes]
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return details


class ApiError(Exception):
    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
        empty_details: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        self.retry_after = retry_after
        # Whether the Status carries `details: {}` when there are none (a non-nil Details pointer
        # upstream, e.g. NewGenericServerResponse's); otherwise empty details are left out.
        self.empty_details = empty_details
        self.warnings: list[str] = []  # `Warning` headers sent with the Status (admission webhooks')

    def status(self) -> dict[str, Any]:
        """The metav1.Status, its keys in the order of the Go struct's fields (kind, apiVersion,
        metadata, status, message, reason, details, code): clients and tests compare bodies."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details = status_details(name=self.name, group=self.group, kind=self.kind, causes=self.causes,
                                 retry_after=self.retry_after)
        if details or self.empty_details:
            body["details"] = details
        body["code"] = self.code
        return body


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"


class NotFound(ApiError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class NotAcceptable(ApiError):
    code = 406
    reason = "NotAcceptable"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"


class Conflict(ApiError):
    code = 409
    reason = "Conflict"


class Expired(ApiError):
    code = 410
    reason = "Expired"


class RequestEntityTooLarge(ApiError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    code = 422
    reason = "Invalid"


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"


class InternalError(ApiError):
    code = 500
    reason = "InternalError"


class Timeout(ApiError):
    code = 504
    reason = "Timeout"


def timeout(message: str) -> Timeout:
    """apierrors.NewTimeoutError(message, 0): `Timeout: ` before the message, details present
    but empty (a non-nil Details carrying retryAfterSeconds 0)."""
    return Timeout(f"Timeout: {message}", empty_details=True)


def internal_error(reason: str) -> InternalError:
    """apierrors.NewInternalError: the reason as the message's tail and as the one cause."""
    return InternalError(f"Internal error occurred: {reason}", causes=[{"message": reason}])


def not_found(group: str, plural: str, name: str) -> NotFound:
    resource = f"{plural}.{group}" if group else plural
    return NotFound(f'{resource} "{name}" not found', name=name, group=group, kind=plural)


def already_exists(group: str, plural: str, name: str) -> AlreadyExists:
    resource = f"{plural}.{group}" if group else plural
    return AlreadyExists(f'{resource} "{name}" already exists', name=name, group=group, kind=plural)


def conflict(group: str, plural: str, name: str) -> Conflict:
    resource = f"{plural}.{group}" if group else plural
    return Conflict(
        f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name=name,
        group=group,
        kind=plural,
    )


def invalid(group: str, kind: str, name: str, causes: list[dict[str, str]]) -> Invalid:
    """Invalid in the apiserver's wording: `Kind.group "name" is invalid: [field: msg, ...]`."""
    gk = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return Invalid(f'{gk} "{name}" is invalid: {joined}', name=name, group=group, kind=kind, causes=causes)


def unprocessable() -> Invalid:
    """NewGenericServerResponse(422, "", no resource, …) (apimachinery/pkg/api/errors): reason Invalid,
    its fixed message, and details present but empty. The apiserver answers so a JSON patch that does
    not apply (a failed `test` among them), which clients such as kopf take as a cue to retry."""
    return Invalid("the server rejected our request due to an error in our request", empty_details=True)
