"""The cluster's network agent: one container on the cluster network that answers for every ClusterIP.

kube-proxy programs each node's kernel to rewrite connections to a ClusterIP. boxk8s runs as a
normal user and must not touch the host's firewall, so the kernel it programs is this container's
own network namespace (DESIGN.md §6, verified on this machine): the ClusterIPs sit in the pod
subnet's top quarter, so every pod and the host reach them on-link; the agent makes that whole
range local (`ip route add local CIDR dev eth0`, Linux's "AnyIP": it then answers ARP for every
address in it, so a Service's IP works the moment its rules exist, and an IP with no rules refuses
at once), and nftables rules there DNAT a new connection to one ready endpoint and masquerade it,
so the reply comes back through the agent. Packets go through the kernel only: nothing is copied
in user space.

The rules are the proxy's (proxy/cluster_ip_plan.py); this class only makes the container and
hands it rulesets. The container outlives boxk8s (a restart adopts it, so
established connections and Services keep working), and carries the cluster's labels but no
node's, so no kubelet takes it for a pod.
"""

from __future__ import annotations

import asyncio
import logging

from boxk8s.kubelet.runtime import netagent_image
from boxk8s.kubelet.runtime.base import LABEL_CLUSTER, LABEL_MANAGED
from boxk8s.kubelet.runtime.docker import DockerError, DockerRuntime
from boxk8s.kubelet.runtime.netagent_image import NetworkAgentUnavailable

log = logging.getLogger(__name__)

IMAGE = "boxk8s-netagent:latest"
LABEL_AGENT = "io.boxk8s.netagent"  # on the image and the container: the image's content digest
EXEC_TIMEOUT = 20.0


class DockerNetworkAgent:
    """The dataplane the ClusterIP proxy drives (proxy/cluster_ip.py's `Dataplane`)."""

    def __init__(self, runtime: DockerRuntime, service_cidr: str, image: str = IMAGE) -> None:
        self.runtime = runtime
        self.service_cidr = service_cidr
        self.image = image
        self.name = f"boxk8s-{runtime.settings.cluster}-netagent"
        self.container_id = ""
        self._lock = asyncio.Lock()

    @property
    def gateway(self) -> str:
        return self.runtime.gateway

    async def start(self) -> None:
        """Make (or adopt) the agent. NetworkAgentUnavailable when the host lacks the tools."""
        tar, digest = await asyncio.to_thread(netagent_image.agent_tar, self.runtime.arch)
        labels = await self.runtime.image_labels(self.image)
        if labels is None or labels.get(LABEL_AGENT) != digest:
            await self.runtime.import_image(self.image, tar, [
                'ENTRYPOINT ["/pause"]', f"ENV LD_LIBRARY_PATH={netagent_image.LIBRARY_PATH}",
                f"LABEL {LABEL_MANAGED}=true {LABEL_AGENT}={digest}"], "the network agent image")
            log.info("built network agent image %s (%s)", self.image, digest)
        info = await self.runtime.inspect_json(self.name)
        if info is not None:
            own = (info.get("Config") or {}).get("Labels") or {}
            if info["State"].get("Running") and own.get(LABEL_AGENT) == digest \
                    and own.get(LABEL_CLUSTER) == self.runtime.settings.cluster:
                self.container_id = str(info["Id"])
                await self._hold_range()
                log.info("network agent %s adopted", self.name)
                return
            await self.runtime.delete(str(info["Id"]))
        self.container_id = await self.runtime.create_json({
            "Image": self.image,
            "Labels": {LABEL_MANAGED: "true", LABEL_CLUSTER: self.runtime.settings.cluster, LABEL_AGENT: digest},
            "HostConfig": {
                "NetworkMode": self.runtime.network,
                "CapAdd": ["NET_ADMIN"],  # its own namespace only: a route and nftables
                "Sysctls": {"net.ipv4.ip_forward": "1"},
                "RestartPolicy": {"Name": "unless-stopped"},
            },
        }, self.name)
        try:
            await self.runtime.docker.containers.container(self.container_id).start()
        except Exception as exc:
            raise DockerError(f"cannot start the network agent {self.name}: {exc}") from exc
        await self._hold_range()
        log.info("network agent %s started", self.name)

    async def _hold_range(self) -> None:
        code, out = await self._run(["/bin/ip", "route", "replace", "local", self.service_cidr, "dev", "eth0"], b"")
        if code != 0:
            raise DockerError(f"the network agent cannot take the service range {self.service_cidr}: "
                              f"{out.decode(errors='replace').strip()}")

    async def _run(self, command: list[str], data: bytes) -> tuple[int, bytes]:
        if not self.container_id:
            raise DockerError("the network agent is not started")
        return await self.runtime.run_input(self.container_id, command, data, EXEC_TIMEOUT)

    async def apply(self, ruleset: str) -> None:
        """Run `ruleset`, one nft transaction: a new connection sees the old rules or the new."""
        async with self._lock:
            code, out = await self._run(["/bin/nft", "-f", "-"], ruleset.encode())
        if code != 0:
            raise DockerError(f"the network agent refused the rules (nft exit {code}): "
                              f"{out.decode(errors='replace').strip()[:2000]}")


__all__ = ["DockerNetworkAgent", "NetworkAgentUnavailable"]
