"""Status bodies from the error hierarchy, as metav1.Status serialises (its Go fields' order, omitempty)."""

from __future__ import annotations

from boxk8s import errors


def test_status_keys_follow_the_go_struct() -> None:
    status = errors.invalid("apps", "Deployment", "web", [
        {"field": "spec.replicas", "message": "must be >= 0", "reason": "FieldValueInvalid"},
        {"message": "no field", "reason": "FieldValueRequired", "field": ""},
    ]).status()
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert status["details"] == {"name": "web", "group": "apps", "kind": "Deployment", "causes": [
        {"reason": "FieldValueInvalid", "message": "must be >= 0", "field": "spec.replicas"},
        {"reason": "FieldValueRequired", "message": "no field"},  # an empty field is omitted
    ]}
    assert list(status["details"]["causes"][0]) == ["reason", "message", "field"]


def test_details_only_when_there_are_some() -> None:
    assert "details" not in errors.BadRequest("bad").status()
    assert errors.Expired("too old", retry_after=0).status().get("details") is None
    assert errors.ApiError("x", retry_after=3).status()["details"] == {"retryAfterSeconds": 3}
    generic = errors.unprocessable().status()
    assert (generic["code"], generic["reason"], generic["details"]) == (422, "Invalid", {})
    assert list(generic) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]


def test_status_details_order() -> None:
    assert list(errors.status_details(uid="u", kind="pods", group="", name="p", retry_after=1)) == [
        "name", "kind", "uid", "retryAfterSeconds"]
