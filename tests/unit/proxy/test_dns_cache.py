"""The cache of upstream answers: CoreDNS's `cache 30` (TTLs capped, denials by the SOA, SERVFAIL 5 s)."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rrset

from boxk8s.proxy.dns_cache import ForwardCache, lifetime


def query(name: str = "example.org.", rdtype: str = "A") -> dns.message.Message:
    return dns.message.make_query(name, rdtype)


def answer(ttl: int, *, name: str = "example.org.") -> dns.message.Message:
    reply = dns.message.make_response(query(name))
    reply.answer.append(dns.rrset.from_text(name, ttl, "IN", "A", "192.0.2.1"))
    return reply


def denial(rcode: int, soa_ttl: int, minimum: int) -> dns.message.Message:
    reply = dns.message.make_response(query())
    reply.set_rcode(rcode)
    reply.authority.append(dns.rrset.from_text("org.", soa_ttl, "IN", "SOA", f"a.org. b.org. 1 2 3 4 {minimum}"))
    return reply


def test_lifetimes() -> None:
    assert lifetime(answer(300)) == 30  # capped
    assert lifetime(answer(7)) == 7
    assert lifetime(denial(dns.rcode.NXDOMAIN, 900, 12)) == 12  # the SOA's minimum (RFC 2308)
    assert lifetime(denial(dns.rcode.NOERROR, 3, 60)) == 3  # NODATA, the SOA's own TTL lower
    servfail = dns.message.make_response(query())
    servfail.set_rcode(dns.rcode.SERVFAIL)
    assert lifetime(servfail) == 5
    bare = dns.message.make_response(query())
    bare.set_rcode(dns.rcode.NXDOMAIN)
    assert lifetime(bare) == 5  # no record at all: CoreDNS's fail-safe MinimalDefaultTTL


def test_a_cached_answer_ages_and_expires_and_carries_the_new_query_id() -> None:
    cache = ForwardCache()
    cache.put(query(), answer(10), now=100.0)
    again = query()
    got = cache.get(again, now=104.0)
    assert got is not None and got.id == again.id and got.answer[0].ttl == 6
    assert cache.get(query(), now=110.0) is None and len(cache) == 0
    assert cache.get(query("EXAMPLE.org."), now=100.0) is None  # gone: expired above


def test_names_match_without_case_and_types_apart() -> None:
    cache = ForwardCache()
    cache.put(query(), answer(10), now=0.0)
    assert cache.get(query("EXAMPLE.ORG."), now=1.0) is not None
    assert cache.get(query(rdtype="AAAA"), now=1.0) is None


def test_the_oldest_used_entry_goes_first_when_full() -> None:
    cache = ForwardCache(size=2)
    for name in ("a.org.", "b.org."):
        cache.put(query(name), answer(10, name=name), now=0.0)
    assert cache.get(query("a.org."), now=1.0) is not None  # a is now the newest used
    cache.put(query("c.org."), answer(10, name="c.org."), now=1.0)
    assert cache.get(query("b.org."), now=1.0) is None
    assert cache.get(query("a.org."), now=1.0) is not None
