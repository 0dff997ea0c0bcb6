"""SPDY/3.1 framing, as far as `kubectl port-forward` speaks it (moby/spdystream on its side).

kubectl 1.32 tunnels a SPDY/3.1 byte stream inside WebSocket binary messages (subprotocol
`SPDY/3.1+portforward.k8s.io`; apiserver/pkg/util/proxy/streamtunnel.go); message boundaries
mean nothing. Frames (draft-mbelshe-httpbis-spdy-00 §2.2): a control frame is `1|version(15)`,
`type(16)`, `flags(8)`, `length(24)`, then its payload; a data frame is `0|stream id(31)`,
`flags(8)`, `length(24)`, then data. Header blocks are zlib-compressed with the protocol's
dictionary, one zlib stream per direction for the whole session.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL = 1, 2, 3, 5

# §2.6.10.1: header names and values as length-prefixed strings, then a tail of common text.
_WORDS = (
    *"options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges".split(),
    *"age allow authorization cache-control connection content-base content-encoding content-language".split(),
    *"content-length content-location content-md5 content-range content-type date etag expect expires".split(),
    *"from host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified".split(),
    *"location max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after".split(),
    *"server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate".split(),
    "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


@dataclass(frozen=True)
class Frame:
    control: bool
    kind: int  # control frame type; 0 for data frames
    flags: int
    stream_id: int  # 0 for session-wide control frames (SETTINGS, PING, GOAWAY)
    payload: bytes  # after the fields the type defines (header block, data, …)
    value: int = 0  # PING id, RST_STREAM/GOAWAY status, WINDOW_UPDATE delta

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class ProtocolError(Exception):
    pass


class FrameReader:
    """Splits a byte stream into frames, whatever the boundaries of the pieces fed to it."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, body = bytes(self._buffer[:8]), bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            frames.append(_parse(head, body))
        return frames


def _parse(head: bytes, body: bytes) -> Frame:
    flags = head[4]
    if not head[0] & 0x80:
        return Frame(False, 0, flags, int.from_bytes(head[0:4], "big") & 0x7FFFFFFF, body)
    version = int.from_bytes(head[0:2], "big") & 0x7FFF
    kind = int.from_bytes(head[2:4], "big")
    if version != VERSION:
        raise ProtocolError(f"SPDY version {version} is not supported")

    def word(i: int) -> int:
        return int.from_bytes(body[i:i + 4], "big") & 0x7FFFFFFF

    if kind == SYN_STREAM:
        return Frame(True, kind, flags, word(0), body[10:])
    if kind in (SYN_REPLY, HEADERS):
        return Frame(True, kind, flags, word(0), body[4:])
    if kind in (RST_STREAM, WINDOW_UPDATE):
        return Frame(True, kind, flags, word(0), b"", word(4))
    if kind == PING:
        return Frame(True, kind, flags, 0, b"", int.from_bytes(body[0:4], "big"))
    if kind == GOAWAY:
        return Frame(True, kind, flags, word(0), b"", word(4))
    return Frame(True, kind, flags, 0, body)  # SETTINGS and unknown types: ignored by the session


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHB", 0x8000 | VERSION, kind, flags) + len(payload).to_bytes(3, "big") + payload


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    return struct.pack(">IB", stream_id & 0x7FFFFFFF, FLAG_FIN if fin else 0) + len(payload).to_bytes(3, "big") + payload


def syn_reply(stream_id: int, header_block: bytes, fin: bool = False) -> bytes:
    return _control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + header_block)


def rst_stream(stream_id: int, status: int) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_stream_id: int, status: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))


class HeaderCodec:
    """Header blocks of one session: a count, then length-prefixed lowercase names and values
    (several values of one name joined by NUL), through one zlib stream per direction."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                         zlib.Z_DEFAULT_STRATEGY, zdict=DICTIONARY)

    def decode(self, block: bytes) -> dict[str, list[str]]:
        try:
            raw = self._inflate.decompress(block)
        except zlib.error as e:
            raise ProtocolError(f"bad header block: {e}") from e
        count, i = int.from_bytes(raw[0:4], "big"), 4
        headers: dict[str, list[str]] = {}
        for _ in range(count):
            n = int.from_bytes(raw[i:i + 4], "big")
            name = raw[i + 4:i + 4 + n].decode("latin-1").lower()
            i += 4 + n
            n = int.from_bytes(raw[i:i + 4], "big")
            headers.setdefault(name, []).extend(raw[i + 4:i + 4 + n].decode("latin-1").split("\x00"))
            i += 4 + n
        return headers

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v)) + v.encode()
            for k, v in headers.items())
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
