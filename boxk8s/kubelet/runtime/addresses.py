"""Pod IPs that boxk8s assigns itself, for pods that run as a single container (no sandbox).

Docker hands the address of a container that stopped to the next container it starts, so a pod
whose only container restarts would come back with another IP. Such pods get a fixed address
instead, from the third quarter of the pod subnet (Docker's own allocations, for sandboxes, are kept
to the lower half: the network's IPRange; the top quarter holds the Services' ClusterIPs,
config.service_cidr_for), held from the pod's first start until it is gone.
Pure bookkeeping: the Docker runtime loads it from its containers' labels and performs.
"""

from __future__ import annotations

import ipaddress

from boxk8s.config import subnet_quarters


class AddressesExhausted(RuntimeError):
    pass


def split_subnet(subnet: str) -> tuple[str, ipaddress.IPv4Network] | None:
    """(Docker's IPRange, the range for fixed pod IPs): the lower half of an IPv4 subnet and the
    quarter above it (the top quarter is the Services'); None when the subnet is IPv6 or too small."""
    quarters = subnet_quarters(subnet)
    if quarters is None:
        return None
    low = quarters[0].supernet(prefixlen_diff=1)
    return str(low), quarters[2]


class PodAddresses:
    """Which fixed address each pod (by uid) holds. Addresses are handed out round robin, so one
    that was just released is the last to be reused."""

    def __init__(self, subnet: str) -> None:
        self._cursor = 0
        self._by_owner: dict[str, str] = {}
        self._owners: dict[str, str] = {}  # address → owner
        self.loaded = False
        self.use_subnet(subnet)

    def use_subnet(self, subnet: str) -> None:
        """Take addresses from this subnet (the network's own, when it was made with another)."""
        split = split_subnet(subnet)
        self.subnet = subnet
        self.enabled = split is not None
        self._hosts: list[str] = []
        if split is not None:
            self._hosts = [str(ip) for ip in split[1]]

    def __contains__(self, ip: str) -> bool:
        return ip in self._owners

    def of(self, owner: str) -> str:
        return self._by_owner.get(owner, "")

    def reserve(self, owner: str, ip: str) -> None:
        """Record an address found in use (a pod's, or anything else's on the network)."""
        if ip in self._owners or owner in self._by_owner:
            return
        self._by_owner[owner] = ip
        self._owners[ip] = owner

    def allocate(self, owner: str) -> str:
        """The owner's address, taking the next free one if it has none."""
        held = self._by_owner.get(owner)
        if held:
            return held
        for step in range(len(self._hosts)):
            ip = self._hosts[(self._cursor + step) % len(self._hosts)]
            if ip not in self._owners:
                self._cursor = (self._cursor + step + 1) % len(self._hosts)
                self._by_owner[owner] = ip
                self._owners[ip] = owner
                return ip
        raise AddressesExhausted(f"no free pod address left in {len(self._hosts)} fixed addresses")

    def release(self, owner: str) -> None:
        ip = self._by_owner.pop(owner, None)
        if ip is not None:
            self._owners.pop(ip, None)
