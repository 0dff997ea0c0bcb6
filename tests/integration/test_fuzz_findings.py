"""What the fuzzer (test_fuzz.py) found, pinned: each answer as the apiserver gives it."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.integration.conftest import CM, Api, assert_status, configmap


async def test_writes_across_all_namespaces_are_not_served(api: Api) -> None:
    """A namespaced kind's path across namespaces is list and watch only (installer.go): a DELETE there
    deleted every namespace's objects."""
    await api.ok("POST", "/api/v1/namespaces", body={"metadata": {"name": "other"}})
    await api.ok("POST", "/api/v1/namespaces/other/configmaps", body=configmap("keep"))
    for method in ("DELETE", "POST"):
        code, body, _ = await api.request(method, "/api/v1/configmaps", body=configmap("x"))
        assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await api.request("DELETE", "/api/v1/watch/namespaces/other/configmaps")
    assert_status(code, body, 405, "MethodNotAllowed")
    code, body, _ = await api.post("/api/v1/bindings", {"metadata": {"name": "p"}, "target": {"name": "n"}})
    assert_status(code, body, 404, "NotFound")  # bindings cannot be listed: no path across namespaces at all
    assert (await api.get("/api/v1/namespaces/other/configmaps/keep"))[0] == 200
    assert (await api.get("/api/v1/configmaps"))[0] == 200


@pytest.mark.parametrize("value", ["9223372036854775808", "1e3", "1_000", " 5", "٣", "1.5"])
async def test_int64_query_parameters(api: Api, value: str) -> None:
    """strconv.ParseInt(v, 10, 64): a limit past int64 was a 500."""
    code, body, _ = await api.get(CM, params={"limit": value})
    assert_status(code, body, 400, "BadRequest")


async def test_the_largest_limit_lists_everything(api: Api) -> None:
    await api.ok("POST", CM, body=configmap("one"))
    got = await api.ok("GET", CM, params={"limit": str(2**63 - 1)})
    assert [i["metadata"]["name"] for i in got["items"]] == ["one"] and "continue" not in got["metadata"]


async def test_a_request_body_is_read_as_sent(api: Api) -> None:
    """The apiserver does not decode a request's Content-Encoding: a body that is not gzip under
    `Content-Encoding: gzip` is read as it is (aiohttp dropped the connection), and gzip bytes are
    not JSON."""
    doc = json.dumps(configmap("plain")).encode()
    code, body, _ = await api.request("POST", CM, data=doc, content_type="application/json",
                                      headers={"Content-Encoding": "gzip"})
    assert code == 201, body
    code, body, _ = await api.request("POST", CM, data=gzip.compress(doc), content_type="application/json",
                                      headers={"Content-Encoding": "gzip"})
    assert_status(code, body, 400, "BadRequest")


async def test_a_long_name_is_an_api_answer(api: Api) -> None:
    """A request line past aiohttp's 8 KiB was refused by the HTTP parser (no Status, an error logged);
    Go's limit is 1 MiB of request line and headers."""
    code, body, _ = await api.get(f"{CM}/{'a' * 20_000}")
    assert_status(code, body, 404, "NotFound")


@pytest.mark.parametrize("ctype", ["application/json", "application/yaml"])
async def test_a_lone_surrogate_is_read_as_u_fffd(api: Api, ctype: str) -> None:
    """Go's decoders read `"\\ud800"` as U+FFFD. Stored as it was, it made every later list of
    configmaps in the namespace a 500."""
    raw = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"k": "a\\ud800b"}}'
    code, body, _ = await api.request("POST", CM, data=raw, content_type=ctype)
    assert code == 201 and body["data"] == {"k": "a\ufffdb"}, body
    listed = await api.ok("GET", CM)
    assert [i["data"] for i in listed["items"]] == [{"k": "a\ufffdb"}]
    raw = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t", "labels": {"a": "\\udfff"}}}'
    code, body, _ = await api.request("POST", CM, data=raw, content_type="application/json")
    assert_status(code, body, 422, "Invalid")


async def test_a_warning_that_cannot_be_a_header_is_dropped(api: Api) -> None:
    """An unknown field named with a newline: its warning cannot travel in a header (aiohttp dropped the
    connection); net.NewWarningHeader refuses it and the recorder leaves it out."""
    obj = {**configmap("w"), "x\ny": 1, "plain": 2}
    code, body, resp = await api.post(CM, obj, params={"fieldValidation": "Warn"})
    assert code == 201, body
    assert resp.headers.getall("Warning") == ['299 - "unknown field \\"plain\\""']


@pytest.mark.parametrize(("options", "message"), [
    ({"preconditions": ["x"]}, "json: cannot unmarshal array into Go struct field DeleteOptions.preconditions of type "
                               "v1.Preconditions"),
    ({"preconditions": {"uid": 5}}, "json: cannot unmarshal number into Go struct field Preconditions.uid of type "
                                    "types.UID"),
    ({"gracePeriodSeconds": "5"}, "json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds "
                                  "of type int64"),
    ({"dryRun": [1]}, "json: cannot unmarshal array into Go struct field DeleteOptions.dryRun of type []string"),
    ({"propagationPolicy": {}}, "json: cannot unmarshal object into Go struct field DeleteOptions.propagationPolicy "
                                "of type v1.DeletionPropagation"),
])
async def test_delete_options_of_the_wrong_types(api: Api, options: dict[str, object], message: str) -> None:
    """A DeleteOptions whose preconditions were a list was a 500."""
    await api.ok("POST", CM, body=configmap("d"))
    code, body, _ = await api.delete(f"{CM}/d", body=options)
    assert_status(code, body, 400, "BadRequest")
    assert body["message"] == message
    assert (await api.get(f"{CM}/d"))[0] == 200


@pytest.mark.parametrize("path", ["/api/v1/namespaces/default/nothings/x", f"{CM}/next"])
async def test_a_declined_upgrade_leaves_the_next_request_answered(api: Api, path: str) -> None:
    """A request asking for a WebSocket upgrade where none is served, with a large body answered
    unread (an unknown resource): the client's next request on that connection got no answer
    (aiohttp's parser waited for the upgrade). The declined upgrade's answer now closes the
    connection (api/upgrades.py)."""
    await api.ok("POST", CM, body=configmap("next"))
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    for _ in range(2):
        code, body, resp = await api.request("PUT", path, data=json.dumps("x" * 500_000),
                                             content_type="application/json", headers=upgrade)
        assert 400 <= code < 500 and resp.headers.get("Connection") == "close", (code, body)
        assert (await api.get(f"{CM}/next"))[0] == 200  # within conftest's DEADLINE
