"""The cluster DNS server over real UDP and TCP sockets on 127.0.0.1, with a fake upstream resolver.

No Docker: the cluster is a plain-list view (and, in the last tests, the informers of an in-process
cluster); the "internet" is a tiny dnspython resolver started here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from boxk8s.client import Informer, Kind
from boxk8s.proxy.dns_records import Obj, StaticView
from boxk8s.proxy.dns_server import ClusterDns, InformerView, host_upstreams, upstreams_from_resolv_conf
from tests.integration.controllers_harness import eventually, harness

TIMEOUT = 5.0  # a client's patience: a hang is a failure, never a measurement

SERVICES: list[Obj] = [
    {"metadata": {"name": "web", "namespace": "default"},
     "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80}]}},
    {"metadata": {"name": "db", "namespace": "default"}, "spec": {"clusterIP": "None", "ports": []}},
    {"metadata": {"name": "ext", "namespace": "default"},
     "spec": {"type": "ExternalName", "externalName": "outside.test"}},
    {"metadata": {"name": "boom", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.99"}},
]
SLICES: list[Obj] = [
    {"metadata": {"name": "db-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "db"}},
     "addressType": "IPv4", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
     "endpoints": [{"addresses": [f"10.244.0.{i}"], "hostname": f"db-{i}", "conditions": {"ready": True}}
                   for i in range(1, 41)]},
]


class ExplodingView(StaticView):
    """A view that fails for one Service: the server must answer SERVFAIL and go on."""

    def service(self, namespace: str, name: str) -> Obj | None:
        if name == "boom":
            raise RuntimeError("the cache is on fire")
        return super().service(namespace, name)


class FakeUpstream:
    """A resolver on 127.0.0.1, UDP and TCP on one port, knowing a few A records. Over UDP it answers
    within 512 bytes (or sets TC), as a real one does; it counts the questions per transport."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records
        self.asked: list[tuple[str, str]] = []  # (transport, name)
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    def reply(self, wire: bytes, transport: str) -> bytes:
        query = dns.message.from_wire(wire)
        name = query.question[0].name.to_text().lower()
        self.asked.append((transport, name))
        reply = dns.message.make_response(query)
        if name in self.records and query.question[0].rdtype == dns.rdatatype.A:
            reply.answer.append(dns.rrset.from_text_list(query.question[0].name, 60, dns.rdataclass.IN,
                                                         dns.rdatatype.A, self.records[name]))
        else:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        try:
            return reply.to_wire(max_size=65535 if transport == "tcp" else 512)
        except dns.exception.TooBig:
            reply.answer = []
            reply.flags |= dns.flags.TC
            return reply.to_wire()

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        upstream = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                self.transport.sendto(upstream.reply(data, "udp"), addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    out = self.reply(await reader.readexactly(size), "tcp")
                    writer.write(len(out).to_bytes(2, "big") + out)
                    await writer.drain()
            writer.close()

        for _ in range(20):
            udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
            port = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(tcp, "127.0.0.1", port)
            except OSError:
                udp.close()
                continue
            self._udp, self.port = udp, port
            return port
        raise AssertionError("no port for the fake upstream")

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    fake = FakeUpstream({"outside.test.": ["192.0.2.7"],
                         "big.test.": [f"192.0.2.{i}" for i in range(1, 60)]})  # > 512 bytes
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@contextlib.asynccontextmanager
async def serving(upstreams: list[tuple[str, int]], **kwargs: Any) -> AsyncIterator[ClusterDns]:
    server = ClusterDns(ExplodingView(SERVICES, SLICES, {"default"}), "127.0.0.1", upstreams=upstreams,
                        upstream_timeout=0.2, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def dns_server(upstream: FakeUpstream) -> AsyncIterator[ClusterDns]:
    async with serving([("127.0.0.1", upstream.port)]) as server:
        yield server


async def udp(server: ClusterDns, name: str, rdtype: str = "A", **kwargs: Any) -> dns.message.Message:
    return await dns.asyncquery.udp(dns.message.make_query(name, rdtype, **kwargs), "127.0.0.1",
                                    port=server.port, timeout=TIMEOUT)


async def tcp(server: ClusterDns, name: str, rdtype: str = "A", **kwargs: Any) -> dns.message.Message:
    return await dns.asyncquery.tcp(dns.message.make_query(name, rdtype, **kwargs), "127.0.0.1",
                                    port=server.port, timeout=TIMEOUT)


def texts(rrsets: list[dns.rrset.RRset]) -> list[str]:
    return sorted(f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} {rd}"
                  for rrset in rrsets for rd in rrset)


async def test_a_service_answers_over_udp_and_tcp(dns_server: ClusterDns) -> None:
    for ask in (udp, tcp):
        reply = await ask(dns_server, "web.default.svc.cluster.local")
        assert reply.rcode() == dns.rcode.NOERROR
        assert texts(reply.answer) == ["web.default.svc.cluster.local. 5 A 10.96.0.10"]
        assert reply.flags & dns.flags.AA and reply.flags & dns.flags.RA and reply.flags & dns.flags.RD


async def test_unknown_names_in_the_zone_are_nxdomain_with_the_soa(dns_server: ClusterDns) -> None:
    reply = await udp(dns_server, "nope.default.svc.cluster.local")
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.answer == []
    assert [(str(r.name), dns.rdatatype.to_text(r.rdtype)) for r in reply.authority] == [("cluster.local.", "SOA")]
    assert str(reply.authority[0][0]).startswith("ns.dns.cluster.local. hostmaster.cluster.local. ")
    nodata = await udp(dns_server, "web.default.svc.cluster.local", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == [] and len(nodata.authority) == 1


async def test_srv_with_targets_in_additional(dns_server: ClusterDns) -> None:
    reply = await tcp(dns_server, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert texts(reply.answer) == [
        "_http._tcp.web.default.svc.cluster.local. 5 SRV 0 100 80 web.default.svc.cluster.local."]
    assert texts(reply.additional) == ["web.default.svc.cluster.local. 5 A 10.96.0.10"]


async def test_edns_is_answered_in_kind(dns_server: ClusterDns) -> None:
    with_edns = await udp(dns_server, "web.default.svc.cluster.local", use_edns=0, payload=4096)
    assert with_edns.edns == 0
    plain = await udp(dns_server, "web.default.svc.cluster.local")
    assert plain.edns == -1


async def test_a_large_answer_is_truncated_over_udp_and_whole_over_tcp(dns_server: ClusterDns) -> None:
    """40 endpoints do not fit in 512 bytes: TC over plain UDP, all of them with EDNS or TCP."""
    small = await dns.asyncquery.udp(dns.message.make_query("db.default.svc.cluster.local", "A"), "127.0.0.1",
                                     port=dns_server.port, timeout=TIMEOUT, ignore_trailing=True)
    assert small.flags & dns.flags.TC and small.answer == []
    for reply in (await udp(dns_server, "db.default.svc.cluster.local", use_edns=0, payload=4096),
                  await tcp(dns_server, "db.default.svc.cluster.local")):
        assert not reply.flags & dns.flags.TC
        assert len(reply.answer[0]) == 40


async def test_other_names_are_forwarded_with_the_clients_id(dns_server: ClusterDns,
                                                            upstream: FakeUpstream) -> None:
    query = dns.message.make_query("outside.test", "A")
    reply = await dns.asyncquery.udp(query, "127.0.0.1", port=dns_server.port, timeout=TIMEOUT)
    assert reply.id == query.id
    assert texts(reply.answer) == ["outside.test. 60 A 192.0.2.7"]
    assert not reply.flags & dns.flags.AA  # the upstream's answer, relayed
    missing = await udp(dns_server, "missing.test")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert upstream.asked == [("udp", "outside.test."), ("udp", "missing.test.")]


async def test_forwarding_uses_tcp_when_the_client_does(dns_server: ClusterDns, upstream: FakeUpstream) -> None:
    reply = await tcp(dns_server, "outside.test")
    assert texts(reply.answer) == ["outside.test. 60 A 192.0.2.7"]
    assert upstream.asked == [("tcp", "outside.test.")]


async def test_a_truncated_upstream_reply_is_asked_again_over_tcp(dns_server: ClusterDns,
                                                                 upstream: FakeUpstream) -> None:
    reply = await udp(dns_server, "big.test", use_edns=0, payload=4096)
    assert len(reply.answer[0]) == 59 and not reply.flags & dns.flags.TC
    assert upstream.asked == [("udp", "big.test."), ("tcp", "big.test.")]


async def test_an_external_name_is_chased_upstream(dns_server: ClusterDns) -> None:
    reply = await udp(dns_server, "ext.default.svc.cluster.local")
    assert texts(reply.answer) == ["ext.default.svc.cluster.local. 5 CNAME outside.test.",
                                   "outside.test. 60 A 192.0.2.7"]
    assert reply.flags & dns.flags.AA


async def test_servfail_when_no_upstream_answers() -> None:
    """A silent upstream (a UDP socket that never replies) and no upstream at all."""
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    try:
        async with serving([("127.0.0.1", silent.get_extra_info("sockname")[1])]) as server:
            reply = await udp(server, "outside.test")
            assert reply.rcode() == dns.rcode.SERVFAIL
            assert texts((await udp(server, "web.default.svc.cluster.local")).answer) == [
                "web.default.svc.cluster.local. 5 A 10.96.0.10"]  # the zone does not need upstreams
    finally:
        silent.close()
    async with serving([]) as server:
        assert (await tcp(server, "outside.test")).rcode() == dns.rcode.SERVFAIL


async def test_a_failing_lookup_is_servfail_and_the_server_goes_on(dns_server: ClusterDns) -> None:
    assert (await udp(dns_server, "boom.default.svc.cluster.local")).rcode() == dns.rcode.SERVFAIL
    assert (await tcp(dns_server, "boom.default.svc.cluster.local")).rcode() == dns.rcode.SERVFAIL
    assert (await udp(dns_server, "web.default.svc.cluster.local")).answer


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait(data)


async def test_garbage_over_udp_gets_formerr_or_nothing_and_the_server_goes_on(dns_server: ClusterDns) -> None:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(Collector, remote_addr=("127.0.0.1", dns_server.port))
    try:
        transport.sendto(b"\x00\x01")  # not even a header: dropped
        # A header (id 0x1234, RD, one question) with no question after it: FORMERR
        transport.sendto(bytes.fromhex("1234 0100 0001 0000 0000 0000"))
        formerr = dns.message.from_wire(await asyncio.wait_for(client.received.get(), TIMEOUT))
        assert (formerr.id, formerr.rcode()) == (0x1234, dns.rcode.FORMERR)
        assert formerr.flags & dns.flags.QR and formerr.flags & dns.flags.RD
        good = dns.message.make_query("web.default.svc.cluster.local", "A")
        transport.sendto(good.to_wire())
        reply = dns.message.from_wire(await asyncio.wait_for(client.received.get(), TIMEOUT))
        assert reply.id == good.id and texts(reply.answer) == ["web.default.svc.cluster.local. 5 A 10.96.0.10"]
        assert client.received.empty()  # nothing came for the short datagram
    finally:
        transport.close()


async def test_garbage_over_tcp_gets_formerr_and_the_connection_goes_on(dns_server: ClusterDns) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", dns_server.port)
    try:
        async def exchange(wire: bytes) -> dns.message.Message:
            writer.write(len(wire).to_bytes(2, "big") + wire)
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), TIMEOUT), "big")
            return dns.message.from_wire(await asyncio.wait_for(reader.readexactly(size), TIMEOUT))

        bad = await exchange(bytes.fromhex("4321 0100 0001 0000 0000 0000") + b"\xff\xff\xff")
        assert (bad.id, bad.rcode()) == (0x4321, dns.rcode.FORMERR)
        good = dns.message.make_query("web.default.svc.cluster.local", "A")
        reply = await exchange(good.to_wire())
        assert reply.id == good.id and texts(reply.answer) == ["web.default.svc.cluster.local. 5 A 10.96.0.10"]
    finally:
        writer.close()


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port")


async def test_the_preferred_port_is_used_when_free() -> None:
    port = free_port()
    async with serving([], preferred_port=port) as server:
        assert server.port == port
        assert (await udp(server, "web.default.svc.cluster.local")).answer
        assert (await tcp(server, "web.default.svc.cluster.local")).answer


@pytest.mark.parametrize("taken", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
async def test_another_port_when_the_preferred_one_is_taken(taken: int) -> None:
    """Taken for UDP or for TCP only: either way both move to another port, together."""
    port = free_port()
    with socket.socket(socket.AF_INET, taken) as holder:
        holder.bind(("127.0.0.1", port))
        if taken == socket.SOCK_STREAM:
            holder.listen()
        async with serving([], preferred_port=port) as server:
            assert server.port not in (0, port)
            assert (await udp(server, "web.default.svc.cluster.local")).answer
            assert (await tcp(server, "web.default.svc.cluster.local")).answer


async def test_an_explicit_port_that_is_taken_fails() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        server = ClusterDns(StaticView(), "127.0.0.1", port)
        with pytest.raises(OSError):
            await server.start()
        await server.close()


async def test_the_server_does_not_forward_to_itself(upstream: FakeUpstream) -> None:
    port = free_port()
    async with serving([("127.0.0.1", port), ("127.0.0.1", upstream.port)], port=port) as server:
        assert server.upstreams == [("127.0.0.1", upstream.port)]
        assert texts((await udp(server, "outside.test")).answer) == ["outside.test. 60 A 192.0.2.7"]


def test_upstreams_from_resolv_conf(tmp_path: Path) -> None:
    text = """# generated
search example.com
nameserver 192.0.2.53
nameserver   2001:db8::53  # v6
; nameserver 192.0.2.99
nameserver fe80::1%eth0
nameserver not-an-address
nameserver 192.0.2.53
options ndots:5
"""
    assert upstreams_from_resolv_conf(text) == [("192.0.2.53", 53), ("2001:db8::53", 53), ("fe80::1%eth0", 53)]
    (tmp_path / "resolv.conf").write_text(text)
    assert host_upstreams(str(tmp_path / "resolv.conf"))[0] == ("192.0.2.53", 53)
    assert host_upstreams(str(tmp_path / "missing")) == []


async def test_the_informer_view_follows_the_cluster(tmp_path: Path) -> None:
    """Services and EndpointSlices created through the API are answered as soon as the informers see
    them, and forgotten when deleted."""
    async with harness(tmp_path, []) as h:
        services, slices, namespaces = (Informer(h.client, Kind.SERVICE), Informer(h.client, Kind.ENDPOINTSLICE),
                                        Informer(h.client, Kind.NAMESPACE))
        view = InformerView(services, slices, namespaces)
        async with asyncio.TaskGroup() as tg:
            runs = [tg.create_task(i.run(), name=f"informer-{i.rt.plural}") for i in (services, slices, namespaces)]
            server = ClusterDns(view, "127.0.0.1")
            await server.start()
            try:
                await check_informer_view(h, server)
            finally:
                await server.close()
                for run in runs:
                    run.cancel()


async def check_informer_view(h: Any, server: ClusterDns) -> None:
    svc = await h.client.create(Kind.SERVICE, "default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "cache"},
        "spec": {"clusterIP": "None", "ports": [{"name": "redis", "port": 6379}]}})
    await h.client.create(Kind.ENDPOINTSLICE, "default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "cache-1", "labels": {"kubernetes.io/service-name": "cache"}},
        "addressType": "IPv4", "ports": [{"name": "redis", "port": 6379, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.3.4"], "hostname": "cache-0", "conditions": {"ready": True}}]})
    web = await h.client.create(Kind.SERVICE, "default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"name": "http", "port": 80}]}})
    ip = web["spec"]["clusterIP"]

    async def answers(name: str, rdtype: str = "A") -> list[str]:
        reply = await udp(server, name, rdtype)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer, reply
        return texts(reply.answer)

    assert await eventually(lambda: answers("web.default.svc.cluster.local")) == [
        f"web.default.svc.cluster.local. 5 A {ip}"]
    assert await eventually(lambda: answers("cache-0.cache.default.svc.cluster.local")) == [
        "cache-0.cache.default.svc.cluster.local. 5 A 10.244.3.4"]
    reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    assert await answers(reverse, "PTR") == [f"{reverse}. 5 PTR web.default.svc.cluster.local."]
    assert await answers("4.3.244.10.in-addr.arpa", "PTR") == [
        "4.3.244.10.in-addr.arpa. 5 PTR cache-0.cache.default.svc.cluster.local."]
    assert await answers("10-1-2-3.kube-system.pod.cluster.local") == [
        "10-1-2-3.kube-system.pod.cluster.local. 5 A 10.1.2.3"]  # the namespace exists
    assert (await udp(server, "10-1-2-3.nosuch.pod.cluster.local")).rcode() == dns.rcode.NXDOMAIN

    await h.client.delete(Kind.SERVICE, "default", svc["metadata"]["name"])

    async def gone() -> bool:
        return (await udp(server, "cache.default.svc.cluster.local")).rcode() == dns.rcode.NXDOMAIN

    assert await eventually(gone)
