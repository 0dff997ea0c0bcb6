"""A simulated runtime (KWOK-style): sandboxes get IPs, containers "run" in memory.

Behaviour, kept simple and predictable:
- every image is present (except names added to `missing_images`, for tests);
- an app container runs until stopped (exit code 0 on stop); an init container exits 0 at once;
- a command ending in `exit N` exits with N at once, `true` with 0, `false` with 1;
- exec probes return `probe_exit_codes.get(container name, 0)`; logs are whatever `append_log` wrote;
- a running container uses what `set_usage` said for it, else what the `usage` function given at
  construction says (the cluster gives kubelet/fake_usage.py's: the pod's annotation, else its
  requests), else nothing: CPU in nanocores (integrated over time into the cumulative counter
  the stats report) and a fixed memory working set.
Changes the kubelet did not make itself (exits: scripted, stopped, killed, OOM) are published to
`watch_events()` subscribers, as Docker events would be. What the kubelet's own calls did (run,
create, start, remove) is not: those calls return the new state, and a wake-up for them only
made the pod's worker run a second sync that found nothing to do.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from boxk8s.kubelet.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_INIT,
    LABEL_MANAGED,
    LABEL_NAMESPACE,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerState,
    ContainerStats,
    ImageError,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
)

_EXIT = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)\s*$")


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pod_ips(subnet: str, *, from_top: bool = False) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Simulated pods' IPs, never reused: from the first host after the gateway up, or (`from_top`,
    when Docker nodes share the subnet and Docker hands out its lower addresses) from the last down.
    One iterator serves all simulated nodes of a cluster, so no two pods share an IP."""
    net = ipaddress.ip_network(subnet, strict=False)
    first, last = int(net.network_address) + 2, int(net.broadcast_address) - 1
    numbers = range(last, first - 1, -1) if from_top else range(first, last + 1)
    return (ipaddress.ip_address(n) for n in numbers)


# What a simulated container uses: (CPU in nanocores, memory working set in bytes).
Usage = tuple[int, int]
UsageFunction = Callable[[ContainerState], Usage | None]


@dataclass
class _Container:
    state: ContainerState
    config: ContainerConfig
    sandbox_id: str
    logs: list[tuple[float, bytes]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    cpu_usage_ns: float = 0.0  # cumulative, integrated at each stats call
    measured_at: float = 0.0  # when cpu_usage_ns was last brought up to date


class FakeExecSession:
    def __init__(self, exit_code: int = 0, output: bytes = b"") -> None:
        self._exit = exit_code
        self._output = output

    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        if self._output:
            yield 1, self._output

    async def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        return self._exit

    async def close(self) -> None:
        return None


class FakeRuntime:
    name = "fake"
    runtime_version = "fake://"
    simulated_network = True  # its pod IPs lead nowhere

    def __init__(self, settings: RuntimeSettings | None = None, *, now: Callable[[], float] = time.time,
                 ips: Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address] | None = None,
                 usage: UsageFunction | None = None) -> None:
        """`ips`: pod IPs shared with the other simulated nodes of the cluster (see `pod_ips`); by
        default this node's own, from the first host after the gateway. `usage`: what a running
        container uses, when `set_usage` said nothing for it."""
        self.settings = settings or RuntimeSettings()
        self._now = now
        self._sandboxes: dict[str, SandboxState] = {}
        self._containers: dict[str, _Container] = {}
        self._volumes: set[str] = set()
        self._subscribers: list[asyncio.Queue[str]] = []
        self._ips = ips if ips is not None else pod_ips(self.settings.pod_subnet)
        self.missing_images: set[str] = set()
        self._image_ids: dict[str, str] = {}
        self.probe_exit_codes: dict[str, int] = {}
        self._usage_fn = usage
        self._usage: dict[tuple[str, str], Usage] = {}  # (pod uid, container name) → set_usage's
        self.started = False
        self.down = False  # ping() fails (tests of the kubelet's runtime health)

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.started = False

    # ---- images ---------------------------------------------------------------------------
    async def ensure_image(self, image: str, pull_policy: str) -> str:
        if image in self.missing_images:
            if pull_policy == "Never":
                raise ImageError("ErrImageNeverPull",
                                 f'Container image "{image}" is not present with pull policy of Never')
            raise ImageError("ErrImagePull", f"failed to pull and unpack image \"{image}\": pull access denied, "
                                             "repository does not exist or may require authorization")
        image_id = self._image_ids.get(image)
        if image_id is None:
            image_id = self._image_ids[image] = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        return image_id

    # ---- sandboxes ------------------------------------------------------------------------
    async def run_sandbox(self, config: SandboxConfig,
                          while_starting: Callable[[SandboxState], Awaitable[None]] | None = None) -> SandboxState:
        sid = os.urandom(32).hex()
        ip = "" if config.host_network else str(next(self._ips))
        sb = SandboxState(sid, config.namespace, config.pod_name, config.pod_uid, ip, True)
        self._sandboxes[sid] = sb
        return sb

    async def remove_sandbox(self, sandbox_id: str) -> None:
        self._sandboxes.pop(sandbox_id, None)

    async def inspect_sandbox(self, sandbox_id: str) -> SandboxState | None:
        return self._sandboxes.get(sandbox_id)

    async def ping(self) -> None:
        if self.down:
            raise ConnectionError("the fake runtime is down")

    def kill_sandbox(self, sandbox_id: str) -> None:
        """Simulate a sandbox dying (tests)."""
        sb = self._sandboxes[sandbox_id]
        self._sandboxes[sandbox_id] = replace(sb, running=False)
        self._publish(sb.pod_uid)

    # ---- containers -----------------------------------------------------------------------
    async def create_container(self, sandbox: SandboxState, config: ContainerConfig) -> ContainerState:
        if sandbox.id not in self._sandboxes:
            raise RuntimeError(f"sandbox {sandbox.id[:12]} not found")
        cid = os.urandom(32).hex()
        labels = {
            LABEL_MANAGED: "true", LABEL_CLUSTER: self.settings.cluster, LABEL_NODE: self.settings.node,
            LABEL_NAMESPACE: sandbox.namespace, LABEL_POD_NAME: sandbox.pod_name, LABEL_POD_UID: sandbox.pod_uid,
            LABEL_CONTAINER_NAME: config.name, LABEL_ATTEMPT: str(config.attempt),
            LABEL_INIT: "true" if config.init else "false", **dict(config.labels),
        }
        state = ContainerState(
            id=cid, pod_uid=sandbox.pod_uid, namespace=sandbox.namespace, pod_name=sandbox.pod_name,
            name=config.name, attempt=config.attempt, init=config.init, status="created",
            image=config.image, image_id=await self.ensure_image(config.image, "IfNotPresent"), labels=labels,
        )
        self._containers[cid] = _Container(state, config, sandbox.id)
        return state

    async def start_container(self, container_id: str) -> ContainerState:
        c = self._get(container_id)
        c.state = replace(c.state, status="running", started_at=_stamp(self._now()))
        c.cpu_usage_ns, c.measured_at = 0.0, self._now()
        c.changed.set()
        code = self._scripted_exit(c.config)
        if code is not None:
            asyncio.get_running_loop().call_soon(self._exit, container_id, code)
        return c.state

    def _scripted_exit(self, config: ContainerConfig) -> int | None:
        words = " ".join((config.command or ()) + (config.args or ())).strip()
        m = _EXIT.search(words)
        if m:
            return int(m.group(1))
        if words in ("true", "/bin/true"):
            return 0
        if words in ("false", "/bin/false"):
            return 1
        return 0 if config.init else None

    def _exit(self, container_id: str, code: int, oom: bool = False) -> None:
        c = self._containers.get(container_id)
        if c is None or c.state.status != "running":
            return
        c.state = replace(c.state, status="exited", exit_code=code, oom_killed=oom,
                          finished_at=_stamp(self._now()))
        self._changed(c)

    def exit_container(self, container_id: str, code: int, *, oom: bool = False) -> None:
        """Make a running container exit (tests: crashes, OOM kills)."""
        self._exit(container_id, code, oom)

    def append_log(self, container_id: str, line: str | bytes) -> None:
        c = self._get(container_id)
        data = line.encode() if isinstance(line, str) else line
        c.logs.append((self._now(), data if data.endswith(b"\n") else data + b"\n"))
        c.changed.set()

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        c = self._containers.get(container_id)
        if c is not None and c.state.status == "running":
            self._exit(container_id, 0)
        elif c is not None and c.state.status == "created":
            c.state = replace(c.state, status="exited", exit_code=0, finished_at=_stamp(self._now()))
            self._changed(c)

    async def remove_container(self, container_id: str) -> None:
        c = self._containers.pop(container_id, None)
        if c is not None:
            c.changed.set()

    async def inspect_container(self, container_id: str) -> ContainerState | None:
        c = self._containers.get(container_id)
        return c.state if c is not None else None

    async def list_sandboxes(self) -> list[SandboxState]:
        return list(self._sandboxes.values())

    async def list_containers(self) -> list[ContainerState]:
        return [c.state for c in self._containers.values()]

    async def image_events(self) -> AsyncIterator[tuple[str, str]]:
        """Simulated nodes build no images: a stream that never yields."""
        await asyncio.Event().wait()
        yield "", ""  # pragma: no cover - never reached; makes this an async generator

    async def watch_events(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.remove(queue)

    # ---- usage ----------------------------------------------------------------------------
    def set_usage(self, pod_uid: str, container: str, cpu_nanocores: int, memory_bytes: int) -> None:
        """What a container of a pod uses from now on (tests, simulations)."""
        self._usage[(pod_uid, container)] = (cpu_nanocores, memory_bytes)

    def _current_usage(self, state: ContainerState) -> Usage:
        set_ = self._usage.get((state.pod_uid, state.name))
        if set_ is not None:
            return set_
        return (self._usage_fn(state) if self._usage_fn is not None else None) or (0, 0)

    async def container_stats(self) -> list[ContainerStats]:
        """The running app containers' usage: CPU accumulated at the rate in force at this call
        since the previous one (a step function: deterministic for a test that sets a rate and
        samples twice)."""
        now = self._now()
        out = []
        for c in self._containers.values():
            st = c.state
            if st.status != "running" or st.init:
                continue
            cpu, memory = self._current_usage(st)
            c.cpu_usage_ns += cpu * max(0.0, now - c.measured_at)
            c.measured_at = now
            out.append(ContainerStats(id=st.id, pod_uid=st.pod_uid, namespace=st.namespace, pod_name=st.pod_name,
                                      name=st.name, timestamp=now, cpu_usage_ns=c.cpu_usage_ns,
                                      memory_working_set=memory))
        return out

    # ---- exec and logs --------------------------------------------------------------------
    async def exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> FakeExecSession:
        c = self._get(container_id)
        if c.state.status != "running":
            raise RuntimeError(f"container {container_id[:12]} is not running")
        return FakeExecSession()

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> FakeExecSession:
        return await self.exec(container_id, [], stdin=stdin, tty=tty)

    async def exec_probe(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        c = self._get(container_id)
        return self.probe_exit_codes.get(c.state.name, 0), b""

    async def logs(self, container_id: str, *, follow: bool, tail: int | None, since: float | None,
                   timestamps: bool) -> AsyncIterator[bytes]:
        c = self._get(container_id)
        sent = 0
        lines = [entry for entry in c.logs if since is None or entry[0] >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        sent = len(c.logs)
        for ts, data in lines:
            yield (_stamp(ts).encode() + b" " + data) if timestamps else data
        while follow:
            if c.state.status != "running" or container_id not in self._containers:
                return
            c.changed.clear()
            await c.changed.wait()
            for ts, data in c.logs[sent:]:
                yield (_stamp(ts).encode() + b" " + data) if timestamps else data
            sent = len(c.logs)

    # ---- volumes --------------------------------------------------------------------------
    async def ensure_volume(self, name: str) -> str:
        self._volumes.add(name)
        return name

    async def remove_volume(self, name: str) -> None:
        self._volumes.discard(name)

    @property
    def volumes(self) -> set[str]:
        return set(self._volumes)

    # ---- helpers --------------------------------------------------------------------------
    def _get(self, container_id: str) -> _Container:
        c = self._containers.get(container_id)
        if c is None:
            raise KeyError(f"no such container: {container_id}")
        return c

    def _changed(self, c: _Container) -> None:
        c.changed.set()
        self._publish(c.state.pod_uid)

    def _publish(self, pod_uid: str) -> None:
        for q in self._subscribers:
            q.put_nowait(pod_uid)
