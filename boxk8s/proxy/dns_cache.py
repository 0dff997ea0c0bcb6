"""A cache of the answers the cluster DNS gets from upstream: CoreDNS's `cache 30` (kubeadm's and
kind's Corefile), so that pods asking the same outside name again and again (every lookup of a short
name ends with the absolute name, after the search path) do not each go to the host's resolvers.

Answers are kept for their smallest TTL, at most `max_ttl`; denials (NXDOMAIN, NODATA) for the
SOA's negative TTL (RFC 2308), at most `max_ttl`, or 5 s when they carry no record at all
(CoreDNS's dnsutil.MinimalTTL: MinimalDefaultTTL, "a short ttl as a fail safe"); a failure to reach any upstream (SERVFAIL) for
`servfail_ttl`, as CoreDNS's cache does by default (`servfail 5s`). A cached answer's TTLs count
down as it ages. Not a module of I/O: the server calls it with the time.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

MAX_TTL = 30
SERVFAIL_TTL = 5
MINIMAL_TTL = 5  # CoreDNS's MinimalDefaultTTL
SIZE = 10_000  # entries; the oldest used goes first

Key = tuple[str, int, int]


def cache_key(query: dns.message.Message) -> Key:
    q = query.question[0]
    return (q.name.to_text().lower(), int(q.rdtype), int(q.rdclass))


def lifetime(reply: dns.message.Message, max_ttl: int = MAX_TTL, servfail_ttl: int = SERVFAIL_TTL) -> int:
    """How long a reply may be served from the cache, in seconds (0: not at all)."""
    rcode = reply.rcode()
    if rcode == dns.rcode.SERVFAIL:
        return servfail_ttl
    if rcode == dns.rcode.NOERROR and reply.answer:
        return max(0, min(min(rrset.ttl for rrset in reply.answer), max_ttl))
    if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        soa = [rrset for rrset in reply.authority if rrset.rdtype == dns.rdatatype.SOA]
        if not soa:
            return MINIMAL_TTL if not reply.authority else 0
        return max(0, min(soa[0].ttl, soa[0][0].minimum, max_ttl))
    return 0


class ForwardCache:
    def __init__(self, max_ttl: int = MAX_TTL, servfail_ttl: int = SERVFAIL_TTL, size: int = SIZE) -> None:
        self.max_ttl = max_ttl
        self.servfail_ttl = servfail_ttl
        self.size = size
        self._entries: OrderedDict[Key, tuple[float, float, dns.message.Message]] = OrderedDict()

    def get(self, query: dns.message.Message, now: float) -> dns.message.Message | None:
        """A copy of the cached reply with its TTLs aged, or None."""
        key = cache_key(query)
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored, expires, reply = entry
        if now >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        out = copy.deepcopy(reply)
        age = int(now - stored)
        for section in (out.answer, out.authority, out.additional):
            for rrset in section:
                rrset.ttl = max(0, rrset.ttl - age)
        out.id = query.id
        return out

    def put(self, query: dns.message.Message, reply: dns.message.Message, now: float) -> None:
        ttl = lifetime(reply, self.max_ttl, self.servfail_ttl)
        if ttl <= 0 or reply.flags & dns.flags.TC:
            return
        self._entries[cache_key(query)] = (now, now + ttl, copy.deepcopy(reply))
        self._entries.move_to_end(cache_key(query))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
