"""What one cluster takes of the machine: a pod subnet no other Docker network overlaps, and ports.

Several clusters run on one machine, one per project folder. Docker refuses a network whose subnet
overlaps another's ("Pool overlaps with other one on this address space", DESIGN.md §6), and two
processes cannot listen on one port, so each cluster takes the first free ones of a short list of
candidates. These are pure choices over what was observed (the subnets in use, a test of a port):
the cluster's start-up (cluster/placement.py) observes and records; tests give tables.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from collections.abc import Callable, Collection, Iterable, Sequence

log = logging.getLogger(__name__)

SUBNET_CANDIDATES = 12  # from 10.244.0.0/16 (config.DEFAULT_SUBNET_POOL): … 10.255.0.0/16
NEIGHBOURS = 10  # a taken port gives way to the next ten (6444, …) before one the system gives


class NoFreeSubnet(Exception):
    pass


def subnet_candidates(start: str, count: int = SUBNET_CANDIDATES) -> list[str]:
    """`start` and the subnets of its size after it: 10.244.0.0/16, 10.245.0.0/16, … (IPv4, never
    past 255.255.255.255)."""
    net = ipaddress.ip_network(start, strict=False)
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"the subnet pool must be IPv4, not {start}")
    out = []
    for i in range(count):
        base = int(net.network_address) + i * net.num_addresses
        if base + net.num_addresses > 1 << 32:
            break
        out.append(f"{ipaddress.IPv4Address(base)}/{net.prefixlen}")
    return out


def _networks(subnets: Iterable[str]) -> list[ipaddress.IPv4Network]:
    out = []
    for text in subnets:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            out.append(net)
    return out


def overlaps(subnet: str, used: Iterable[str]) -> bool:
    net = ipaddress.ip_network(subnet, strict=False)
    return any(net.overlaps(u) for u in _networks(used) if u.version == net.version)


def choose_subnet(used: Iterable[str], *, start: str, preferred: str = "",
                  count: int = SUBNET_CANDIDATES) -> str:
    """The pod subnet for a cluster, given the subnets of the other Docker networks: `preferred`
    (the one recorded at the last start) while nothing overlaps it, else the first free candidate."""
    used = list(used)
    if preferred and not overlaps(preferred, used):
        return preferred
    candidates = subnet_candidates(start, count)
    for candidate in candidates:
        if not overlaps(candidate, used):
            return candidate
    raise NoFreeSubnet(f"no free pod subnet among {candidates[0]} … {candidates[-1]}: Docker networks overlap "
                       "each one (remove stopped clusters with `boxk8s down`, or give --pod-subnet)")


def choose_port(preferred: Sequence[int], is_free: Callable[[int], bool], taken: Collection[int] = ()) -> int | None:
    """The first of `preferred` (recorded, then the default) that is free and not already `taken`
    by another listener of this cluster; None: none is, ask the system for one."""
    for port in preferred:
        if port > 0 and port not in taken and is_free(port):
            return port
    return None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_free(host: str, port: int) -> bool:
    """Whether a listener could bind (host, port) now. SO_REUSEADDR, as the listeners set it, so a
    port whose last connections linger in TIME_WAIT (a cluster just stopped) counts as free."""
    try:
        with socket.create_server((host, port), family=_family(host)):
            return True
    except OSError:
        return False


def system_port(host: str, taken: Collection[int] = ()) -> int:
    """A port the system says is free now (not one of `taken`)."""
    while True:
        with socket.create_server((host, 0), family=_family(host)) as s:
            port = int(s.getsockname()[1])
        if port not in taken:
            return port


def port_candidates(preferred: Sequence[int]) -> list[int]:
    """`preferred` (the recorded port, the default), then the NEIGHBOURS after the last."""
    last = next((p for p in reversed(preferred) if p > 0), 0)
    return [*preferred, *range(last + 1, min(last + 1 + NEIGHBOURS, 65536))] if last else list(preferred)


def listen(host: str, port: int, *, fallback: bool = False) -> socket.socket:
    """A listening socket on (host, port) (SO_REUSEADDR, as `socket.create_server` sets). With
    `fallback`, a port taken since it was chosen (by a cluster starting beside this one) gives way to
    the next NEIGHBOURS, then to one the system gives: binding is the only test that cannot race."""
    candidates = [port]
    if fallback and port:
        candidates += [*port_candidates([port])[1:], 0]
    for i, candidate in enumerate(candidates):
        try:
            sock = socket.create_server((host, candidate), family=_family(host))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or i == len(candidates) - 1:
                raise
            continue
        if i:
            log.warning("port %d was taken meanwhile: listening on %d", port, sock.getsockname()[1])
        return sock
    raise AssertionError("unreachable")


def exposure_warning(host: str) -> str:
    """The one line `boxk8s up` logs when its listeners (the API, NodePort Services, the Ingress proxy)
    are asked to leave the loopback address; '' on loopback, where only this machine reaches them."""
    if host == "localhost":
        return ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return ""
    except ValueError:
        pass  # a host name: whatever it resolves to may be reachable
    return (f"listening on {host}, not 127.0.0.1: other machines can reach the API (it asks for the token), "
            "NodePort Services and the Ingress proxy (they ask for nothing)")
