"""The Kubernetes WebSocket channel protocols (`*.channel.k8s.io`) used by pods/exec.

Every WebSocket message carries one channel: binary protocols prefix the payload with the
channel byte, base64 protocols send text whose first character is the channel digit and whose
rest is the base64 payload. Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (v4/v5: a metav1
Status as JSON; earlier versions: the error message as text, nothing on success), 4 resize
(JSON `{"Width": w, "Height": h}`), and, in v5 only, 255 close: a client message `[255, n]`
closes channel n (`[255, 0]` is stdin EOF).

Mirrors k8s.io/apimachinery/pkg/util/httpstream/wsstream and the kubelet's
remotecommand server (pkg/kubelet/cri/streaming/remotecommand).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255


class FrameError(ValueError):
    """A message that does not follow the negotiated channel protocol."""


@dataclass(frozen=True)
class ChannelProtocol:
    name: str  # the WebSocket subprotocol; "" when the client asked for none
    version: int  # 1 (channel.k8s.io) .. 5
    base64: bool

    @property
    def status_json(self) -> bool:
        """v4 and later report the outcome as a JSON metav1.Status on the error channel."""
        return self.version >= 4

    @property
    def close_channels(self) -> bool:
        """v5: a client may close a single channel with [255, channel]."""
        return self.version >= 5

    def encode(self, channel: int, data: bytes) -> bytes | str:
        """One server→client message: bytes for binary protocols, str for base64 ones."""
        if not 0 <= channel <= 255:
            raise ValueError(f"channel out of range: {channel}")
        if self.base64:
            if channel > 9:
                raise ValueError(f"channel {channel} cannot be sent with {self.name}")
            return chr(ord("0") + channel) + base64.b64encode(data).decode("ascii")
        return bytes((channel,)) + data

    def decode(self, message: bytes | str) -> tuple[int, bytes] | None:
        """A client→server message as (channel, payload). None for an empty message (ignored upstream)."""
        if self.base64:
            text = message.decode("ascii", "replace") if isinstance(message, bytes) else message
            if not text:
                return None
            channel = ord(text[0]) - ord("0")
            if not 0 <= channel <= 9:
                raise FrameError(f"invalid channel character {text[0]!r} in a {self.name} message")
            try:
                payload = base64.b64decode(text[1:].encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as e:
                raise FrameError(f"invalid base64 payload on channel {channel}") from e
            return channel, payload
        raw = message.encode() if isinstance(message, str) else message
        if not raw:
            return None
        return raw[0], bytes(raw[1:])


# Client-offered names we serve; negotiation follows the client's order of preference.
PROTOCOLS: dict[str, ChannelProtocol] = {
    p.name: p
    for p in (
        ChannelProtocol("v5.channel.k8s.io", 5, False),
        ChannelProtocol("v4.channel.k8s.io", 4, False),
        ChannelProtocol("v4.base64.channel.k8s.io", 4, True),
        ChannelProtocol("v3.channel.k8s.io", 3, False),
        ChannelProtocol("v2.channel.k8s.io", 2, False),
        ChannelProtocol("channel.k8s.io", 1, False),
        ChannelProtocol("base64.channel.k8s.io", 1, True),
    )
}
# No Sec-WebSocket-Protocol at all: upstream treats it as the binary channel.k8s.io protocol.
DEFAULT = ChannelProtocol("", 1, False)


def parse_offer(header: str | None) -> list[str]:
    """The subprotocols offered in a Sec-WebSocket-Protocol header, in order."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def negotiate(offered: Iterable[str]) -> ChannelProtocol | None:
    """The first offered protocol we serve; DEFAULT when nothing was offered; None when no overlap."""
    offered = list(offered)
    if not offered:
        return DEFAULT
    for name in offered:
        if name in PROTOCOLS:
            return PROTOCOLS[name]
    return None


class ResizeDecoder:
    """Terminal sizes from the resize channel: a stream of JSON objects (Go's json.Decoder upstream).

    Messages normally hold one object each, but an object split across messages, or several in
    one, decode the same way. Keys match case-insensitively, as in Go.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[tuple[int, int]]:
        self._buf += data.decode("utf-8", "replace")
        sizes: list[tuple[int, int]] = []
        while True:
            text = self._buf.lstrip()
            if not text:
                self._buf = ""
                return sizes
            try:
                obj, end = self._decoder.raw_decode(text)
            except json.JSONDecodeError as e:
                if (e.pos >= len(text) or e.msg.startswith("Unterminated string")) and len(text) < 4096:
                    self._buf = text  # incomplete: wait for the rest
                    return sizes
                raise FrameError(f"invalid resize message: {e.msg}") from e
            self._buf = text[end:]
            sizes.append(parse_size(obj))


def parse_size(obj: Any) -> tuple[int, int]:
    if not isinstance(obj, dict):
        raise FrameError("invalid resize message: not a JSON object")
    keys = {str(k).lower(): v for k, v in obj.items()}
    width, height = keys.get("width", 0), keys.get("height", 0)
    for v in (width, height):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
            raise FrameError(f"invalid resize message: bad dimension {v!r}")
    return width, height


# ---- the outcome on the error channel ----------------------------------------------------------

def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The status for a finished command, as the kubelet writes it (remotecommand.ServeExec).

    kubectl and client-go turn reason NonZeroExitCode + cause ExitCode into
    "command terminated with exit code N" and exit with N.
    """
    if code == 0:
        return success_status()
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            "command terminated with non-zero exit code: "
            f"error executing command [{' '.join(command)}], exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error_status(message: str) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def status_payload(protocol: ChannelProtocol, status: dict[str, Any]) -> bytes | None:
    """What goes on the error channel: JSON (v4+), the message text (v1-v3), None for v1-v3 success."""
    if protocol.status_json:
        return json.dumps(status, separators=(",", ":")).encode()
    if status.get("status") == "Success":
        return None
    return str(status.get("message", "")).encode()
