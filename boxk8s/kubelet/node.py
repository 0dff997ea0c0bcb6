"""Node registration and heartbeats: the kubelet's node status manager and node lease.

`NodeStatusAgent.run()` registers the Node (or adopts the one already stored under that name,
as a restarted kubelet does), then every `heartbeat_seconds` posts the Node's status heartbeat
and renews its Lease in `kube-node-lease`, which is what the node lifecycle controller watches.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import platform
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.events import NORMAL, EventRecorder
from boxk8s.kubelet.clock import Clock, SystemClock, rfc3339
from boxk8s.kubelet.settings import NodeSettings

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
FAKE_LABEL = "node.boxk8s.io/fake"
KUBELET_PORT = 10250
READY_MESSAGE = "kubelet is posting ready status"
# (type, status, reason, message) of the pressure conditions a healthy kubelet reports.
PRESSURE_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def micro_time(ts: float) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def go_arch(machine: str | None = None) -> str:
    m = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}.get(m, m)


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, platform.node() or "boxk8s"))


def _os_image() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    except OSError:
        return f"{platform.system()} {platform.release()}"


def _format_cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _format_ki(n: int) -> str:
    return f"{n // 1024}Ki"


@dataclass(frozen=True)
class HostFacts:
    """What the kubelet reads from the machine; injectable so tests see fixed values."""

    arch: str
    kernel_version: str
    os_image: str
    boot_id: str
    ephemeral_storage_bytes: int

    @classmethod
    def detect(cls, path: str = "/") -> HostFacts:
        try:
            disk = shutil.disk_usage(path).total
        except OSError:
            disk = 100 * 1024**3
        return cls(go_arch(), platform.release(), _os_image(), _boot_id(), disk)


def node_labels(settings: NodeSettings, arch: str, control_plane: bool = False) -> dict[str, str]:
    labels = {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": settings.name,
        "kubernetes.io/os": "linux",
    }
    if control_plane:
        labels[CONTROL_PLANE_LABEL] = ""
    if settings.fake:
        labels[FAKE_LABEL] = "true"
    labels.update(dict(settings.labels))
    return labels


def node_conditions(now: str, ready: bool = True, message: str = READY_MESSAGE,
                    previous: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The four conditions; lastTransitionTime moves only when a condition's status changes."""
    before = {c.get("type"): c for c in previous or []}
    wanted = [*PRESSURE_CONDITIONS,
              ("Ready", "True", "KubeletReady", message) if ready else ("Ready", "False", "KubeletNotReady", message)]
    out = []
    for type_, status, reason, msg in wanted:
        old = before.get(type_)
        transition = old.get("lastTransitionTime") if old and old.get("status") == status else None
        out.append({"type": type_, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": transition or now, "reason": reason, "message": msg})
    return out


class NodeStatusAgent:
    def __init__(self, client: Client, settings: NodeSettings, *, clock: Clock | None = None,
                 recorder: EventRecorder | None = None, address: str = "127.0.0.1",
                 runtime_version: str | None = None, control_plane: bool = False,
                 host: HostFacts | None = None, kube_proxy_version: str | None = None) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock or SystemClock()
        self.recorder = recorder or EventRecorder(client, "kubelet", settings.name)
        self.address = address
        self.runtime_version = runtime_version or ("fake://" if settings.fake else "docker://unknown")
        self.control_plane = control_plane or any(k == CONTROL_PLANE_LABEL for k, _ in settings.labels)
        self.host = host or HostFacts.detect()
        self.kube_proxy_version = kube_proxy_version or settings.kubelet_version
        self.node: dict[str, Any] | None = None  # the last Node object written
        self.registered = asyncio.Event()
        self._ready = True
        self._not_ready_message = ""

    # ---- the desired object --------------------------------------------------------------------
    def _ref(self) -> dict[str, Any]:
        """How kubelets refer to their node in events (uid = node name, as upstream's kubelet does)."""
        return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": self.settings.name, "uid": self.settings.name}}

    def desired_status(self, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        s = self.settings
        now = rfc3339(self.clock.now())
        resources = {
            "cpu": _format_cpu(s.cpu_millis),
            "ephemeral-storage": _format_ki(self.host.ephemeral_storage_bytes),
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
            "memory": _format_ki(s.memory_bytes),
            "pods": str(s.pods),
        }
        message = READY_MESSAGE if self._ready else self._not_ready_message
        return {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": node_conditions(now, self._ready, message, (previous or {}).get("conditions")),
            "addresses": [{"type": "InternalIP", "address": self.address}, {"type": "Hostname", "address": s.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
            "nodeInfo": {
                "machineID": _stable_id("machine", s.name),
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{s.name}.node.boxk8s")),
                "bootID": _stable_id("boot", self.host.boot_id, s.name),
                "kernelVersion": self.host.kernel_version,
                "osImage": self.host.os_image,
                "containerRuntimeVersion": self.runtime_version,
                "kubeletVersion": s.kubelet_version,
                "kubeProxyVersion": self.kube_proxy_version,
                "operatingSystem": "linux",
                "architecture": self.host.arch,
            },
            **({"images": previous["images"]} if previous and previous.get("images") else {}),
        }

    def desired_node(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.settings.taints:
            spec["taints"] = [dict(t) for t in self.settings.taints]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.settings.name,
                "labels": node_labels(self.settings, self.host.arch, self.control_plane),
                "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            },
            "spec": spec,
            "status": self.desired_status(),
        }

    # ---- registration --------------------------------------------------------------------------
    async def register(self) -> dict[str, Any]:
        desired = self.desired_node()
        try:
            node = await self.client.create(Kind.NODE, None, desired)
            log.info("node/%s: registered", self.settings.name)
        except errors.AlreadyExists:
            node = await self._adopt(desired)
            log.info("node/%s: adopted the existing Node", self.settings.name)
        self.node = node
        self.registered.set()
        return node

    async def _adopt(self, desired: dict[str, Any]) -> dict[str, Any]:
        """Keep what others set (cordon, added taints, labels), make ours current."""
        for _attempt in range(10):
            current = await self.client.get(Kind.NODE, None, self.settings.name)
            new = copy.deepcopy(current)
            md = new["metadata"]
            md["labels"] = {**(md.get("labels") or {}), **desired["metadata"]["labels"]}
            md["annotations"] = {**(md.get("annotations") or {}), **desired["metadata"]["annotations"]}
            taints = list((new.get("spec") or {}).get("taints") or [])
            for t in desired["spec"].get("taints") or []:
                if not any(o.get("key") == t.get("key") and o.get("effect") == t.get("effect") for o in taints):
                    taints.append(t)
            if taints:
                new.setdefault("spec", {})["taints"] = taints
            try:
                updated = await self.client.update(Kind.NODE, new)
                return await self._post_status(updated)
            except errors.Conflict:
                continue
        raise errors.conflict("", "nodes", self.settings.name)

    async def _post_status(self, node: dict[str, Any]) -> dict[str, Any]:
        """Write the status through the status subresource; on Conflict re-read and retry."""
        for _attempt in range(10):
            new = copy.deepcopy(node)
            new["status"] = self.desired_status(node.get("status"))
            try:
                return await self.client.update_status(Kind.NODE, new)
            except errors.Conflict:
                node = await self.client.get(Kind.NODE, None, self.settings.name)
        raise errors.conflict("", "nodes", self.settings.name)

    async def heartbeat(self) -> dict[str, Any]:
        try:
            node = await self.client.get(Kind.NODE, None, self.settings.name)
        except errors.NotFound:
            log.warning("node/%s: the Node was deleted; registering again", self.settings.name)
            return await self.register()
        was_ready = _is_ready(node)
        self.node = await self._post_status(node)
        if self._ready and not was_ready:
            await self._event("NodeReady")
        return self.node

    async def renew_lease(self) -> dict[str, Any]:
        s = self.settings
        now = micro_time(self.clock.now())
        spec = {"holderIdentity": s.name, "leaseDurationSeconds": s.lease_duration_seconds, "renewTime": now}
        owner = []
        if self.node is not None:
            owner = [{"apiVersion": "v1", "kind": "Node", "name": s.name, "uid": self.node["metadata"]["uid"]}]
        for _attempt in range(10):
            try:
                lease = await self.client.get(Kind.LEASE, LEASE_NAMESPACE, s.name)
            except errors.NotFound:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": s.name, "namespace": LEASE_NAMESPACE, "ownerReferences": owner},
                        "spec": {**spec, "acquireTime": now}}
                try:
                    return await self.client.create(Kind.LEASE, LEASE_NAMESPACE, body)
                except errors.AlreadyExists:
                    continue
            new = copy.deepcopy(lease)
            if lease["spec"].get("holderIdentity") != s.name:
                spec["acquireTime"] = now
            new["spec"] = {**(lease.get("spec") or {}), **spec}
            if owner:
                new["metadata"]["ownerReferences"] = owner
            try:
                return await self.client.update(Kind.LEASE, new)
            except errors.Conflict:
                continue
        raise errors.conflict("coordination.k8s.io", "leases", s.name)

    async def set_not_ready(self, reason: str) -> None:
        """Ready=False (e.g. on shutdown), written at once."""
        self._ready = False
        self._not_ready_message = reason
        try:
            node = await self.client.get(Kind.NODE, None, self.settings.name)
            self.node = await self._post_status(node)
        except errors.ApiError as e:
            log.warning("node/%s: cannot set NotReady: %s", self.settings.name, e.message)
            return
        await self._event("NodeNotReady")

    async def set_ready(self) -> None:
        self._ready = True
        await self.heartbeat()

    async def _event(self, reason: str, message: str | None = None) -> None:
        msg = message or f"Node {self.settings.name} status is now: {reason}"
        await self.recorder.event(self._ref(), NORMAL, reason, msg)

    # ---- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.recorder.event(self._ref(), NORMAL, "Starting", "Starting kubelet.")
        while True:
            try:
                await self.register()
                break
            except errors.ApiError as e:
                log.warning("node/%s: registration failed: %s; retrying", self.settings.name, e.message)
                await self.clock.sleep(1.0)
        for reason in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"):
            await self._event(reason)
        await self._event("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
        if self._ready:
            await self._event("NodeReady")
        await self._beat(self.renew_lease)
        while True:
            await self.clock.sleep(self.settings.heartbeat_seconds)
            await self._beat(self.heartbeat)
            await self._beat(self.renew_lease)

    async def _beat(self, step: Callable[[], Any]) -> None:
        try:
            await step()
        except errors.ApiError as e:  # the next beat tries again
            log.warning("node/%s: %s failed: %s", self.settings.name, step.__name__, e.message)


def _is_ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])
