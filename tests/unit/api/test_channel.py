"""The WebSocket channel protocols of pods/exec: framing, negotiation, resize, the error-channel status."""

from __future__ import annotations

import base64
import json

import pytest

from boxk8s.api import channel as ch

V5 = ch.PROTOCOLS["v5.channel.k8s.io"]
V4 = ch.PROTOCOLS["v4.channel.k8s.io"]
V4B64 = ch.PROTOCOLS["v4.base64.channel.k8s.io"]
V1 = ch.PROTOCOLS["channel.k8s.io"]
V1B64 = ch.PROTOCOLS["base64.channel.k8s.io"]


def test_binary_frames_prefix_the_channel_byte() -> None:
    assert V5.encode(ch.STDOUT, b"hi\n") == b"\x01hi\n"
    assert V4.encode(ch.ERROR, b"{}") == b"\x03{}"
    assert V5.encode(ch.STDOUT, b"") == b"\x01"
    assert V5.decode(b"\x00abc") == (0, b"abc")
    assert V5.decode(b"\xff\x00") == (255, b"\x00")
    assert V5.decode(b"") is None
    # a text message on a binary protocol is read as its bytes, as upstream does
    assert V4.decode("\x00x") == (0, b"x")


def test_base64_frames_use_a_channel_digit() -> None:
    # the example from wsstream/conn.go: "foo\n" on stdin, "\n" on stdout
    assert V1B64.decode("0Zm9vCg==") == (0, b"foo\n")
    assert V4B64.encode(ch.STDOUT, b"\n") == "1Cg=="
    assert V4B64.encode(ch.ERROR, b"") == "3"
    data = bytes(range(256))
    frame = V4B64.encode(ch.STDERR, data)
    assert isinstance(frame, str) and frame[0] == "2"
    assert base64.b64decode(frame[1:]) == data
    assert V4B64.decode(frame) == (2, data)
    assert V4B64.decode(b"0YQ==") == (0, b"a")  # sent as a binary message
    assert V4B64.decode("") is None


@pytest.mark.parametrize("bad", ["0@@@", "xYQ==", "0YQ"])
def test_base64_rejects_garbage(bad: str) -> None:
    with pytest.raises(ch.FrameError):
        V4B64.decode(bad)


def test_encode_rejects_impossible_channels() -> None:
    with pytest.raises(ValueError):
        V5.encode(256, b"")
    with pytest.raises(ValueError):
        V4B64.encode(255, b"")


def test_protocol_capabilities() -> None:
    assert V5.status_json and V5.close_channels and not V5.base64
    assert V4.status_json and not V4.close_channels
    assert V4B64.status_json and V4B64.base64
    for name in ("v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"):
        assert not ch.PROTOCOLS[name].status_json
        assert not ch.PROTOCOLS[name].close_channels


def test_negotiation_follows_the_client_order() -> None:
    assert ch.negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io"]) is V5
    assert ch.negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"]) is V4
    assert ch.negotiate(["SPDY/3.1+portforward.k8s.io", "v4.base64.channel.k8s.io"]) is V4B64
    assert ch.negotiate(["v6.channel.k8s.io"]) is None
    assert ch.negotiate([]) is ch.DEFAULT
    assert not ch.DEFAULT.base64 and not ch.DEFAULT.status_json
    assert ch.parse_offer(" v5.channel.k8s.io , v4.channel.k8s.io,") == ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    assert ch.parse_offer(None) == []


def test_resize_messages() -> None:
    dec = ch.ResizeDecoder()
    assert dec.feed(b'{"Width":80,"Height":24}') == [(80, 24)]
    assert dec.feed(b'{"width":100,"height":40}{"Width":1,"Height":2}') == [(100, 40), (1, 2)]
    # split across messages
    assert dec.feed(b'{"Width":12') == []
    assert dec.feed(b'0,"Height":') == []
    assert dec.feed(b'50}\n') == [(120, 50)]
    assert dec.feed(b'{"Wid') == []
    assert dec.feed(b'th":7,"Height":8}') == [(7, 8)]
    assert dec.feed(b'{"Height":3}') == [(0, 3)]


@pytest.mark.parametrize("bad", [b'[1,2]', b'{"Width":-1,"Height":2}', b'{"Width":"80"}', b'}{'])
def test_resize_rejects_garbage(bad: bytes) -> None:
    with pytest.raises(ch.FrameError):
        ch.ResizeDecoder().feed(bad)


def test_exit_status_is_what_client_go_decodes() -> None:
    assert ch.exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}
    status = ch.exit_status(3, ["sh", "-c", "exit 3"])
    assert status == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    payload = ch.status_payload(V5, status)
    assert payload is not None
    assert json.loads(payload) == status
    assert b" " not in payload.split(b'"message"')[0]  # compact JSON, like Go's json.Marshal


def test_status_on_the_v1_error_channel_is_text() -> None:
    assert ch.status_payload(V1, ch.exit_status(0, ["true"])) is None
    assert ch.status_payload(V1, ch.exit_status(2, ["false"])) == (
        b"command terminated with non-zero exit code: error executing command [false], exit code 2"
    )
    internal = ch.internal_error_status("boom")
    assert internal["reason"] == "InternalError" and internal["code"] == 500
    assert json.loads(ch.status_payload(V4, internal) or b"")["message"] == "Internal error occurred: boom"
