"""The ContainerRuntime protocol the kubelet drives, and the plain values it trades in.

The kubelet decides (what to create, with which resolved env and mounts); a runtime only
performs. Every object a runtime creates carries the labels below, so that after a restart
the kubelet can adopt what runs and remove what no pod owns — and never touch anything else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

# Labels on every Docker object boxk8s makes.
LABEL_MANAGED = "io.boxk8s.managed"  # "true"
LABEL_CLUSTER = "io.boxk8s.cluster"  # the cluster name
LABEL_NODE = "io.boxk8s.node"  # the node name
LABEL_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"  # "POD" for the sandbox
LABEL_ATTEMPT = "io.boxk8s.attempt"  # restart count when the container was created
LABEL_INIT = "io.boxk8s.init"  # "true" for init containers
SANDBOX_NAME = "POD"


@dataclass(frozen=True)
class RuntimeSettings:
    cluster: str = "boxk8s"  # names and labels every object; tests use a unique one
    node: str = "boxk8s-control-plane"
    network: str = ""  # Docker network name; "" → f"boxk8s-{cluster}"
    pod_subnet: str = "10.244.0.0/16"
    sandbox_image: str = "boxk8s-pause:latest"
    state_dir: Path = Path(".boxk8s")  # host folders for configMap/secret/downwardAPI volumes live below it
    docker_host: str | None = None  # None: DOCKER_HOST or the local socket


class ImageError(Exception):
    """Why an image cannot be had; `reason` is what the container status shows."""

    def __init__(self, reason: Literal["ErrImagePull", "ErrImageNeverPull", "InvalidImageName"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class StartError(Exception):
    """A created container the runtime could not start (bad command, missing mount source…).
    `state`: what the runtime recorded of it (status, exit code, error), for the kubelet to
    report without asking again; None if the runtime does not know."""

    state: ContainerState | None = None


@dataclass(frozen=True)
class Mount:
    target: str  # path in the container
    source: str  # host path (bind), volume name (volume), "" (tmpfs)
    kind: Literal["bind", "volume", "tmpfs"] = "bind"
    read_only: bool = False
    sub_path: str = ""


@dataclass(frozen=True)
class SandboxConfig:
    namespace: str
    pod_name: str
    pod_uid: str
    hostname: str
    aliases: tuple[str, ...] = ()  # extra DNS names on the cluster network
    dns_search: tuple[str, ...] = ()
    host_network: bool = False
    # The pod has one container and nothing to share: a runtime may run that container on the
    # network itself, with the pod's hostname and a fixed IP, instead of joining it to a sandbox
    # (one container start instead of two).
    solo: bool = False


@dataclass(frozen=True)
class SandboxState:
    id: str
    namespace: str
    pod_name: str
    pod_uid: str
    ip: str
    running: bool
    # Set when the sandbox is no container of its own (a solo pod): what its containers need.
    config: SandboxConfig | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ContainerConfig:
    """A container, fully resolved by the kubelet (env values, mounts, limits)."""

    name: str
    image: str
    command: tuple[str, ...] | None = None  # the entrypoint override (k8s `command`)
    args: tuple[str, ...] | None = None  # k8s `args`
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    mounts: tuple[Mount, ...] = ()
    user: str = ""  # "uid" or "uid:gid"
    memory_limit: int = 0  # bytes; 0 = none
    cpu_limit_nano: int = 0  # NanoCPUs; 0 = none
    cpu_shares: int = 0
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    attempt: int = 0
    init: bool = False
    labels: tuple[tuple[str, str], ...] = ()


ContainerStatus = Literal["created", "running", "exited", "unknown"]


@dataclass(frozen=True)
class ContainerState:
    id: str
    pod_uid: str
    namespace: str
    pod_name: str
    name: str  # the container's name in the pod spec
    attempt: int
    init: bool
    status: ContainerStatus
    exit_code: int | None = None
    started_at: str = ""  # RFC3339, "" if never
    finished_at: str = ""
    oom_killed: bool = False
    error: str = ""  # the runtime's own error text, if starting failed
    image: str = ""
    image_id: str = ""
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ContainerStats:
    """One running app container's usage at one moment, as the kubelet's CRI stats give it:
    cumulative CPU time (a rate needs two samples: kubelet/metrics_plan.py) and the memory
    working set (usage minus inactive file pages, cAdvisor's workingSet)."""

    id: str
    pod_uid: str
    namespace: str
    pod_name: str
    name: str  # the container's name in the pod spec
    timestamp: float  # when measured, seconds since the epoch
    # CPU time used since the container started, in core-nanoseconds (Docker's counter is an int; a
    # simulated one is exact as a float, so a configured rate comes back exactly)
    cpu_usage_ns: float
    memory_working_set: int  # bytes


class ExecSession(Protocol):
    """A running exec; stdout/stderr arrive as (stream number 1 or 2, bytes)."""

    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...
    async def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...  # the exit code, once the process has ended
    async def close(self) -> None: ...


class ContainerRuntime(Protocol):
    """What the kubelet may ask of a runtime: everything it needs is here or a declared
    capability, so the kubelet never asks which runtime it has."""

    name: str  # "docker" or "fake": the scheme of the containerIDs in pod status
    settings: RuntimeSettings  # the cluster and node whose objects this runtime makes
    # For Node.status.nodeInfo.containerRuntimeVersion ("docker://24.0.7", "fake://"); a
    # runtime may learn it only in start().
    runtime_version: str
    # Pod IPs are not reachable (simulated nodes): network probes (httpGet, tcpSocket) pass
    # without connecting.
    simulated_network: bool

    async def start(self) -> None:
        """Connect, and create what the runtime needs (network, sandbox image)."""

    async def close(self) -> None: ...

    async def ensure_image(self, image: str, pull_policy: str) -> str:
        """The image's id, pulling per policy (Always / IfNotPresent / Never). Raises ImageError."""

    async def run_sandbox(self, config: SandboxConfig,
                          while_starting: Callable[[SandboxState], Awaitable[None]] | None = None) -> SandboxState:
        """Create and start the sandbox (or return this pod's running one). A runtime whose start
        takes time may call `while_starting` with the created, not yet running sandbox, so the
        caller can create containers meanwhile; it need not call it at all."""
    async def remove_sandbox(self, sandbox_id: str) -> None: ...
    async def inspect_sandbox(self, sandbox_id: str) -> SandboxState | None:
        """The sandbox as it is now; None when it is gone (removed behind the kubelet's back)."""

    async def ping(self) -> None:
        """Raise unless the runtime answers (kubelet's runtime status check, `updateRuntimeUp`)."""

    async def create_container(self, sandbox: SandboxState, config: ContainerConfig) -> ContainerState:
        """Create (not start) a container joined to the sandbox's network namespace."""

    async def start_container(self, container_id: str) -> ContainerState:
        """Start a created container. Raises StartError (or any error) if it would not start."""

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after the grace period."""

    async def remove_container(self, container_id: str) -> None: ...
    async def inspect_container(self, container_id: str) -> ContainerState | None: ...

    async def list_sandboxes(self) -> list[SandboxState]:
        """Every sandbox of this cluster and node (running or not)."""

    async def list_containers(self) -> list[ContainerState]:
        """Every app/init container of this cluster and node (running or not)."""

    def watch_events(self) -> AsyncIterator[str]:
        """Pod uids whose containers changed state (start, die, oom), as they happen."""

    def image_events(self) -> AsyncIterator[tuple[str, str]]:
        """(image name, image id) each time a name is given to an image (a local rebuild), from now on."""

    async def exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> ExecSession: ...
    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        """The running container's own stdio (its main process), as `kubectl attach` sees it."""
    async def exec_probe(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Run a command to completion: (exit code, combined output). TimeoutError after timeout."""

    def logs(self, container_id: str, *, follow: bool, tail: int | None, since: float | None,
             timestamps: bool) -> AsyncIterator[bytes]:
        """Log lines (each ending in \\n; prefixed 'RFC3339Nano ' when timestamps)."""

    async def container_stats(self) -> list[ContainerStats]:
        """Usage of every running app container of this cluster and node (no sandboxes, no init
        containers). Off the request path: the metrics sampler calls it periodically."""

    async def ensure_volume(self, name: str) -> str:
        """A named volume (for persistentVolumeClaims) that outlives pods; returns its name."""

    async def remove_volume(self, name: str) -> None: ...
