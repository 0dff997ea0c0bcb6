"""Placing a cluster on the machine: what `auto` left open, decided before anything starts.

Its name, a pod subnet that no other Docker network overlaps (its own network, left by an earlier
run, is reused as it is), and its ports: the recorded ones first, then the defaults and the ten
after each, then whatever the system gives. The choices are placement.py's pure functions; this module observes (the Docker
networks, the ports) and records the outcome in the state folder (instance.py), so a restart
prefers what the cluster had.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from boxk8s import instance, kubeconfig, placement
from boxk8s import nodes as node_plan
from boxk8s.config import AUTO_PORT, AUTO_SUBNET, DEFAULT_PORTS, ClusterSettings

log = logging.getLogger(__name__)


async def _auto_subnet(settings: ClusterSettings, name: str, recorded: str) -> str:
    candidates = placement.subnet_candidates(settings.subnet_pool)
    if settings.nodes <= 0:  # no Docker network to make: nothing to overlap
        return recorded or candidates[0]
    from boxk8s.kubelet.runtime.base import LABEL_CLUSTER, RuntimeSettings
    from boxk8s.kubelet.runtime.docker import (  # aiodocker: only here
        SubnetTaken,
        create_network,
        list_networks,
    )
    from boxk8s.kubelet.runtime.docker_specs import network_name

    own_name = network_name(RuntimeSettings(cluster=name))
    refused: list[str] = []  # taken between our look and our claim: by a cluster starting beside us
    for _ in range(len(candidates) + 1):
        networks = await list_networks()
        own = next((n for n in networks if n.name == own_name and n.labels.get(LABEL_CLUSTER) == name), None)
        if own is not None and own.subnets:
            if recorded and own.subnets[0] != recorded:
                log.warning("network %s has subnet %s, not the recorded %s; using it", own_name, own.subnets[0],
                            recorded)
            return own.subnets[0]
        used = [s for n in networks if n is not own for s in n.subnets] + refused
        subnet = placement.choose_subnet(used, preferred=recorded, start=settings.subnet_pool)
        try:
            if not await create_network(name, subnet):
                continue  # it exists after all: take its subnet
        except SubnetTaken:
            log.info("pod subnet %s was taken meanwhile; choosing again", subnet)
            refused.append(subnet)
            continue
        if recorded and subnet != recorded:
            log.warning("pod subnet %s is taken by another Docker network; this cluster moves to %s (Services "
                        "keep ClusterIPs from the old range: recreate them)", recorded, subnet)
        return subnet
    raise placement.NoFreeSubnet(f"no free pod subnet from {settings.subnet_pool}: give --pod-subnet")


def _port(settings: ClusterSettings, given: int, recorded: int, default: int, what: str, taken: set[int]) -> int:
    if given != AUTO_PORT:
        port = given
    else:
        wanted = placement.port_candidates([recorded, default])
        port = placement.choose_port(wanted, lambda p: placement.port_free(settings.host, p), taken) \
            or placement.system_port(settings.host, taken)
        if port not in (recorded, default):
            log.warning("port %d is in use: the %s listens on %d", recorded or default, what, port)
    if port:
        taken.add(port)
    return port


async def place(settings: ClusterSettings) -> ClusterSettings:
    """`settings` with every `auto` decided, recorded in the state folder."""
    if warning := placement.exposure_warning(settings.host):
        log.warning("%s", warning)
    name = node_plan.cluster_name(settings.state_dir, settings.cluster_name)
    record = instance.read_record(settings.state_dir)
    subnet = settings.pod_subnet
    if subnet == AUTO_SUBNET:
        subnet = await _auto_subnet(settings, name, record.pod_subnet)
    taken: set[int] = set()
    api_default, ingress_default, tls_default = DEFAULT_PORTS
    port = _port(settings, settings.port, record.api_port, api_default, "API", taken)
    ingress = _port(settings, settings.ingress_port, record.ingress_port, ingress_default, "Ingress proxy", taken)
    tls = _port(settings, settings.ingress_tls_port, record.ingress_tls_port, tls_default,
                "Ingress proxy's TLS side", taken) if ingress else 0
    chosen = {what for what, given in (("api", settings.port), ("ingress", settings.ingress_port),
                                         ("ingress-tls", settings.ingress_tls_port)) if given == AUTO_PORT}
    placed = replace(settings, cluster_name=name, pod_subnet=subnet, port=port, ingress_port=ingress,
                     ingress_tls_port=tls, port_fallback=frozenset(chosen))
    record_placement(placed, port)
    return placed


def record_placement(settings: ClusterSettings, api_port: int) -> None:
    user_config = ""
    if settings.write_kubeconfig:
        user_config = str(settings.kubeconfig_path or kubeconfig.default_user_path())
    instance.write_record(settings.state_dir, instance.Record(
        cluster=settings.cluster_name, pod_subnet=settings.pod_subnet, host=settings.host, api_port=api_port,
        ingress_port=settings.ingress_port, ingress_tls_port=settings.ingress_tls_port,
        context=kubeconfig.context_name(settings.cluster_name), user_kubeconfig=user_config))
