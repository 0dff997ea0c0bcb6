"""Response bodies byte for byte as the apiserver writes them: Status objects (errors, a delete's
Success, watch ERROR events) in the order of metav1.Status's Go fields (kind, apiVersion, metadata,
status, message, reason, details, code), every serializer body ending in a newline (encoding/json's
Encoder.Encode), and JSON patches that fail answered as jsonPatcher.applyJSPatch answers them
(apiserver/pkg/endpoints/handlers/patch.go)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import (
    CM,
    DEPLOYS,
    Api,
    compacted_resource_version,
    configmap,
    deployment,
    watch_lines,
)

JSON_PATCH = "application/json-patch+json"

# NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false):
# the json-patch library's error (e.g. "testing value /metadata/resourceVersion failed: test failed")
# is not in it.
UNPROCESSABLE = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                 b'"message":"the server rejected our request due to an error in our request",'
                 b'"reason":"Invalid","details":{},"code":422}\n')


async def raw(api: Api, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
    code, _, resp = await api.request(method, path, **kw)
    return code, await resp.read()


def bad_request(message: str) -> bytes:
    """errors.NewBadRequest: no details."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "BadRequest", "code": 400}
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


# ---- JSON patch ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ops", [
    # kopf's optimistic patch: a test of the resourceVersion it read
    [{"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
     {"op": "replace", "path": "/data/k", "value": "changed"}],
    [{"op": "test", "path": "/data/k", "value": "not-v"}],
    [{"op": "remove", "path": "/data/nothere"}],
    [{"op": "replace", "path": "/spec/nothere/deeper", "value": 1}],
    [{"op": "frobnicate", "path": "/data/k"}],
    [{"path": "/data/k", "value": "x"}],  # no op
    [{"op": "add", "path": "data/k", "value": "x"}],  # no leading slash
    [{"op": "move", "from": "/nowhere", "path": "/data/k"}],
    [None],  # decodes (a zero jsonPatchOp), has no kind
])
async def test_json_patch_that_does_not_apply(api: Api, ops: list[Any]) -> None:
    before = await api.ok("POST", CM, body=configmap("c"))
    code, body = await raw(api, "PATCH", f"{CM}/c", data=json.dumps(ops), content_type=JSON_PATCH)
    assert (code, body) == (422, UNPROCESSABLE)
    assert await api.ok("GET", f"{CM}/c") == before  # all or nothing


async def test_json_patch_test_on_scale(api: Api) -> None:
    await api.ok("POST", DEPLOYS, body=deployment("web"))
    ops = [{"op": "test", "path": "/spec/replicas", "value": 5}, {"op": "replace", "path": "/spec/replicas", "value": 2}]
    code, body = await raw(api, "PATCH", f"{DEPLOYS}/web/scale", data=json.dumps(ops), content_type=JSON_PATCH)
    assert (code, body) == (422, UNPROCESSABLE)


@pytest.mark.parametrize(("patch", "message"), [
    # kjson.UnmarshalStrict(patchBytes, &[]jsonPatchOp) (fieldValidation Warn, the default, or Strict)
    ({"op": "add"}, "object into Go value of type []handlers.jsonPatchOp"),
    ("add", "string into Go value of type []handlers.jsonPatchOp"),
    (5, "number into Go value of type []handlers.jsonPatchOp"),
    (True, "bool into Go value of type []handlers.jsonPatchOp"),
    ([1], "number into Go value of type handlers.jsonPatchOp"),
    ([[]], "array into Go value of type handlers.jsonPatchOp"),
    ([{"op": 5, "path": "/data/k"}], "number into Go struct field jsonPatchOp.op of type string"),
    ([{"op": "add", "path": ["data"], "value": 1}], "array into Go struct field jsonPatchOp.path of type string"),
    ([{"op": "copy", "from": {}, "path": "/data/k"}], "object into Go struct field jsonPatchOp.from of type string"),
])
async def test_json_patch_that_does_not_decode(api: Api, patch: Any, message: str) -> None:
    before = await api.ok("POST", CM, body=configmap("c"))
    code, body = await raw(api, "PATCH", f"{CM}/c", data=json.dumps(patch), content_type=JSON_PATCH)
    assert (code, body) == (400, bad_request(f"error decoding patch: json: cannot unmarshal {message}"))
    assert await api.ok("GET", f"{CM}/c") == before


async def test_json_patch_null_is_no_operations(api: Api) -> None:
    before = await api.ok("POST", CM, body=configmap("c"))
    assert await api.ok("PATCH", f"{CM}/c", data="null", content_type=JSON_PATCH) == before


async def test_json_patch_too_many_operations(api: Api) -> None:
    await api.ok("POST", CM, body=configmap("c"))
    ops = [{"op": "test", "path": "/data/k", "value": "v"}] * 10_001
    code, body = await raw(api, "PATCH", f"{CM}/c", data=json.dumps(ops), content_type=JSON_PATCH)
    assert code == 413
    assert json.loads(body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
        "reason": "RequestEntityTooLarge", "code": 413,
    }


# ---- Status bodies ------------------------------------------------------------------------------

async def test_not_found_body(api: Api) -> None:
    code, body = await raw(api, "GET", f"{DEPLOYS}/nope")
    assert (code, body) == (404, b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                                 b'"message":"deployments.apps \\"nope\\" not found","reason":"NotFound",'
                                 b'"details":{"name":"nope","group":"apps","kind":"deployments"},"code":404}\n')


async def test_invalid_body_orders_details_and_causes(api: Api) -> None:
    bad = configmap("Bad_Name")
    code, body = await raw(api, "POST", CM, body=bad)
    assert code == 422
    status = json.loads(body)
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert list(status["details"]) == ["name", "kind", "causes"]
    for cause in status["details"]["causes"]:
        assert list(cause) == ["reason", "message", "field"], cause
    assert body.endswith(b"}\n")


async def test_apply_conflict_body(api: Api) -> None:
    """fieldmanager's NewConflictError (errors.NewApplyConflict): the conflicts as causes whose type
    is written "reason", and no name, group or kind."""
    cm = configmap("c")
    await api.ok("PATCH", f"{CM}/c", data=json.dumps(cm), content_type="application/apply-patch+yaml",
                 params={"fieldManager": "first"})
    cm["data"] = {"k": "other"}
    code, body = await raw(api, "PATCH", f"{CM}/c", data=json.dumps(cm), content_type="application/apply-patch+yaml",
                           params={"fieldManager": "second"})
    assert code == 409
    status = json.loads(body)
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert status["details"] == {"causes": [
        {"reason": "FieldManagerConflict", "message": 'conflict with "first"', "field": ".data.k"}]}


async def test_delete_success_body(api: Api) -> None:
    """The registry Store's finalizeDelete: Success, details name, group, kind (the resource) and uid; no code."""
    created = await api.ok("POST", CM, body=configmap("c"))
    code, body = await raw(api, "DELETE", f"{CM}/c")
    uid = created["metadata"]["uid"]
    assert (code, body) == (200, b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
                                 b'"details":{"name":"c","kind":"configmaps","uid":"' + uid.encode() + b'"}}\n')


async def test_watch_error_event_status_order(api: Api) -> None:
    code, events = await watch_lines(api, CM, {"resourceVersion": await compacted_resource_version(api)}, until=1)
    status = events[0]["object"] if code == 200 else events
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "code"], status


# ---- newlines -----------------------------------------------------------------------------------

async def test_serializer_bodies_end_with_a_newline(api: Api) -> None:
    await api.ok("POST", CM, body=configmap("c"))
    for path, headers in [
        (f"{CM}/c", {}),
        (CM, {}),
        (CM, {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}),
        ("/api", {}),
        ("/apis/apps/v1", {}),
    ]:
        code, body = await raw(api, "GET", path, headers=headers)
        assert code == 200 and body.endswith(b"}\n") and not body.endswith(b"\n\n"), (path, body[-20:])


async def test_version_is_written_raw(api: Api) -> None:
    """/version is responsewriters.WriteRawJSON's: MarshalIndent with two spaces, no newline after."""
    code, body = await raw(api, "GET", "/version")
    assert code == 200 and body.startswith(b'{\n  "major": "1",\n  "minor": ') and body.endswith(b"\n}"), body
