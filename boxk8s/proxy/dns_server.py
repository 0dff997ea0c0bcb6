"""The cluster DNS server: UDP and TCP on one port, the zone from `dns_records`, the rest forwarded.

CoreDNS as kubeadm configures it, reduced to what a cluster in one process needs: the `kubernetes`
plugin (answers in `dns_records.resolve`, authoritative) and the `forward . /etc/resolv.conf`
plugin (every other name goes to the host's resolvers, in order, and their reply is relayed).
dnspython does the wire format; this module only moves messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.entropy
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rrset

from boxk8s.client import Informer
from boxk8s.proxy.dns_cache import ForwardCache
from boxk8s.proxy.dns_records import (
    DEFAULT_DOMAIN,
    Answer,
    ClusterView,
    Obj,
    Record,
    cluster_ips,
    resolve,
    slice_addresses,
)
from boxk8s.proxy.plan import SERVICE_NAME_LABEL

log = logging.getLogger(__name__)

UPSTREAM_TIMEOUT = 2.0  # seconds per upstream resolver
RETRANSMIT_SHARES = (0.2, 0.3, 0.5)  # of it: the waits before each (re)transmission gives up
TCP_IDLE = 10.0  # seconds a TCP client may stay silent between queries (RFC 7766 suggests seconds)
OUR_PAYLOAD = 1232  # the EDNS UDP size we advertise (DNS flag day 2020)
MAX_IN_FLIGHT = 1024  # UDP queries being answered at once; more are dropped, as a busy server would
BIND_ATTEMPTS = 20  # tries to find a port free for both UDP and TCP
HEADER = 12  # bytes of a DNS header


class ClusterDns:
    """Serves the cluster zone on `host`:`port` over UDP and TCP; forwards other names upstream."""

    def __init__(self, view: ClusterView, host: str, port: int = 0, *, domain: str = DEFAULT_DOMAIN,
                 upstreams: Sequence[tuple[str, int]] = (), preferred_port: int = 0,
                 upstream_timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.view = view
        self.host = host
        self.port = port
        self.domain = domain
        self.upstreams = list(upstreams)
        self.preferred_port = preferred_port
        self.upstream_timeout = upstream_timeout
        self.cache = ForwardCache()  # what upstream said, as CoreDNS's `cache 30`
        self.serial = int(time.time())  # the SOA serial: CoreDNS uses the time of the last change
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # UDP queries being answered
        self._writers: set[asyncio.StreamWriter] = set()  # open TCP connections

    async def start(self) -> int:
        """Listen; returns the port, the same for UDP and TCP."""
        if self.port:
            await self._bind(self.port)
        elif not (self.preferred_port and await self._try_bind(self.preferred_port)):
            for _ in range(BIND_ATTEMPTS):
                if await self._try_bind(0):
                    break
            else:
                raise OSError(f"dns: no port free for both UDP and TCP on {self.host}")
        assert self._udp is not None
        self.port = self._udp.get_extra_info("sockname")[1]
        self.upstreams = [u for u in self.upstreams if not self._is_me(*u)]  # a loop otherwise
        log.info("dns: serving %s on %s:%d (udp, tcp)", self.domain, self.host, self.port)
        return self.port

    def _is_me(self, host: str, port: int) -> bool:
        return port == self.port and (host == self.host or self.host in ("0.0.0.0", "::", ""))

    async def _try_bind(self, port: int) -> bool:
        try:
            await self._bind(port)
        except OSError as e:
            if port:
                log.info("dns: port %d is taken (%s); using another", port, e.strerror or e)
            return False  # with port 0: the UDP port was free but its TCP twin was not
        return True

    async def _bind(self, port: int) -> None:
        """UDP first (port 0 picks one), then TCP on the same number; both or neither."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(self.host, port),
                                                     family=family)
        try:
            number = udp.get_extra_info("sockname")[1]
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, number, family=family,
                                                   reuse_address=True)
        except BaseException:
            udp.close()
            raise
        self._udp = udp

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one query ----------------------------------------------------------------------------

    async def handle(self, wire: bytes, *, tcp: bool = False) -> bytes | None:
        """The reply to one query message, or None to drop it. Never raises: a failure is SERVFAIL."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return _format_error(wire)
        try:
            reply = await self._reply(query, tcp)
            return None if reply is None else _to_wire(reply, query, tcp)
        except Exception:
            log.exception("dns: answering %s failed", query.question[0] if query.question else "a query")
        try:
            return _to_wire(_status(query, dns.rcode.SERVFAIL), query, tcp)
        except Exception:
            log.exception("dns: cannot even say SERVFAIL")
            return None

    async def _reply(self, query: dns.message.Message, tcp: bool) -> dns.message.Message | None:
        if query.flags & dns.flags.QR:
            return None  # a response sent to us: answering it could loop
        if query.opcode() != dns.opcode.QUERY:
            return _status(query, dns.rcode.NOTIMP)
        if len(query.question) != 1:
            return _status(query, dns.rcode.FORMERR)
        question = query.question[0]
        answer = None
        if question.rdclass == dns.rdataclass.IN:
            answer = resolve(question.name.to_text(), question.rdtype, self.view, self.domain,
                             serial=self.serial)
        if answer is None:
            return await self._forward(query, tcp)
        reply = _authoritative(query, answer)
        if answer.chase is not None:
            chased = await self._ask_upstreams(dns.message.make_query(answer.chase, question.rdtype), tcp)
            if chased is not None:
                reply.answer.extend(chased.answer)
        return reply

    async def _forward(self, query: dns.message.Message, tcp: bool) -> dns.message.Message:
        now = time.monotonic()
        cached = self.cache.get(query, now)
        if cached is not None:
            return cached
        reply = await self._ask_upstreams(query, tcp)
        if reply is None:
            reply = _status(query, dns.rcode.SERVFAIL)
        reply.id = query.id
        self.cache.put(query, reply, time.monotonic())
        return reply

    async def _ask_upstreams(self, query: dns.message.Message, tcp: bool) -> dns.message.Message | None:
        """The first reply from the upstreams, in order; TCP when asked over TCP or truncated.

        The upstream sees a fresh message id (ours), so its replies cannot be matched by guessing
        the client's."""
        outgoing = dns.message.from_wire(query.to_wire())
        outgoing.id = dns.entropy.random_16()
        for host, port in self.upstreams:
            try:
                if not tcp:
                    reply = await self._udp_retrying(outgoing, host, port)
                    if not reply.flags & dns.flags.TC:
                        return reply
                return await dns.asyncquery.tcp(outgoing, host, timeout=self.upstream_timeout, port=port)
            except (dns.exception.DNSException, OSError, EOFError) as e:
                log.debug("dns: upstream %s:%d failed for %s: %r", host, port, outgoing.question[0], e)
        return None

    async def _udp_retrying(self, query: dns.message.Message, host: str, port: int) -> dns.message.Message:
        """One UDP exchange, sent again when an answer is slow: a lost datagram costs a fifth of the
        timeout instead of all of it (stub resolvers retransmit the same way, RFC 1035 §4.2.1)."""
        for share in RETRANSMIT_SHARES[:-1]:
            with contextlib.suppress(dns.exception.Timeout):
                return await dns.asyncquery.udp(query, host, timeout=self.upstream_timeout * share, port=port,
                                                ignore_unexpected=True)
        return await dns.asyncquery.udp(query, host, timeout=self.upstream_timeout * RETRANSMIT_SHARES[-1],
                                        port=port, ignore_unexpected=True)

    # -- transports ---------------------------------------------------------------------------

    def _datagram(self, data: bytes, addr: Any) -> None:
        if len(self._tasks) >= MAX_IN_FLIGHT:
            log.debug("dns: %d queries in flight; dropping one from %s", len(self._tasks), addr)
            return
        task = asyncio.get_running_loop().create_task(self._answer_udp(data, addr), name="dns-udp-query")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_udp(self, data: bytes, addr: Any) -> None:
        reply = await self.handle(data, tcp=False)
        if reply is not None and self._udp is not None:
            self._udp.sendto(reply, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """DNS over TCP: each message behind its 2-byte length (RFC 1035 §4.2.2), several per connection."""
        self._writers.add(writer)
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE):
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    data = await reader.readexactly(size)
                reply = await self.handle(data, tcp=True)
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("dns: TCP connection failed")
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: ClusterDns) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("dns: udp error: %s", exc)


# -- messages -------------------------------------------------------------------------------------

def _authoritative(query: dns.message.Message, answer: Answer) -> dns.message.Message:
    """A reply from the cluster zone: AA and RA set, as CoreDNS's kubernetes plugin sends them."""
    reply = _status(query, answer.rcode)
    reply.flags |= dns.flags.AA
    reply.answer = _rrsets(answer.answer)
    reply.authority = _rrsets(answer.authority)
    reply.additional = _rrsets(answer.additional)
    return reply


def _status(query: dns.message.Message, rcode: int) -> dns.message.Message:
    """An empty reply with this rcode; make_response copies the id, RD, question and EDNS."""
    reply = dns.message.make_response(query, recursion_available=True, our_payload=OUR_PAYLOAD)
    reply.set_rcode(rcode)
    return reply


def _rrsets(records: Sequence[Record]) -> list[dns.rrset.RRset]:
    """Records grouped into RRsets (same name and type), in order of first appearance."""
    groups: dict[tuple[str, int], list[Record]] = {}
    for r in records:
        groups.setdefault((r.name.lower(), r.rdtype), []).append(r)
    return [dns.rrset.from_text_list(group[0].name, min(r.ttl for r in group), dns.rdataclass.IN,
                                     group[0].rdtype, [r.data for r in group]) for group in groups.values()]


def _to_wire(reply: dns.message.Message, query: dns.message.Message, tcp: bool) -> bytes:
    """The reply within the client's size: UDP 512 bytes, or the EDNS payload it advertised;
    what does not fit is sent empty with TC set, and the client asks again over TCP."""
    limit = 65535 if tcp else max(512, query.payload if query.edns >= 0 else 512)
    try:
        return reply.to_wire(max_size=limit)
    except dns.exception.TooBig:
        reply.answer, reply.authority, reply.additional = [], [], []
        reply.flags |= dns.flags.TC
        return reply.to_wire(max_size=limit)


def _format_error(wire: bytes) -> bytes | None:
    """FORMERR for a message whose header can be read (its id and opcode answered); else drop it."""
    if len(wire) < HEADER:
        return None
    flags = int.from_bytes(wire[2:4], "big")
    if flags & dns.flags.QR:
        return None
    reply = dns.message.Message(id=int.from_bytes(wire[:2], "big"))
    reply.flags = dns.flags.QR | dns.flags.RA | (flags & (dns.flags.RD | 0x7800))  # 0x7800: the opcode bits
    reply.set_rcode(dns.rcode.FORMERR)
    return reply.to_wire()


# -- upstreams ------------------------------------------------------------------------------------

def upstreams_from_resolv_conf(text: str) -> list[tuple[str, int]]:
    """The `nameserver` lines of a resolv.conf, in order, on port 53 (IPv6 and scoped addresses too)."""
    found: list[tuple[str, int]] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2 or words[0] != "nameserver":
            continue
        try:
            ipaddress.ip_address(words[1])
        except ValueError:
            continue
        if (words[1], 53) not in found:
            found.append((words[1], 53))
    return found


def host_upstreams(path: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    """The host's resolvers, as `forward . /etc/resolv.conf` reads them; none when there is no file."""
    try:
        return upstreams_from_resolv_conf(Path(path).read_text())
    except OSError:
        return []


# -- the informer-backed view -----------------------------------------------------------------------

SERVICE_INDEX = "service"  # slices by "namespace/service": ingress.py registers the same index
CLUSTER_IP_INDEX = "clusterIP"
ADDRESS_INDEX = "endpoint-address"
NAMESPACE_INDEX = "namespace"


class InformerView:
    """ClusterView over the shared Service and EndpointSlice informers, through indexes.

    With a Namespace informer a namespace exists when it is there, as CoreDNS checks; without one,
    when a Service is in it.
    """

    def __init__(self, services: Informer, slices: Informer, namespaces: Informer | None = None) -> None:
        self.services = services
        self.endpoint_slices = slices
        self.namespaces = namespaces
        services.add_index(CLUSTER_IP_INDEX, cluster_ips)
        services.add_index(NAMESPACE_INDEX, _namespace)
        slices.add_index(SERVICE_INDEX, _slice_service)
        slices.add_index(ADDRESS_INDEX, slice_addresses)

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.services.get(f"{namespace}/{name}")

    def slices(self, namespace: str, name: str) -> list[Obj]:
        return list(self.endpoint_slices.by_index(SERVICE_INDEX, f"{namespace}/{name}"))

    def service_by_ip(self, ip: str) -> Obj | None:
        found = self.services.by_index(CLUSTER_IP_INDEX, ip)
        return found[0] if found else None

    def slices_by_ip(self, ip: str) -> list[Obj]:
        return list(self.endpoint_slices.by_index(ADDRESS_INDEX, ip))

    def namespace_exists(self, namespace: str) -> bool:
        if self.namespaces is not None:
            return self.namespaces.get(namespace) is not None
        return bool(self.services.by_index(NAMESPACE_INDEX, namespace))


def _slice_service(obj: dict[str, Any]) -> list[str]:
    name = (obj["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{obj['metadata'].get('namespace', '')}/{name}"] if name else []


def _namespace(obj: dict[str, Any]) -> list[str]:
    return [obj["metadata"].get("namespace", "")]
