"""The Docker runtime: pods as a pause sandbox plus app containers joined to its namespaces.

Talks to the Docker Engine API through aiodocker (the only module that imports it, with its
helpers docker_specs.py — pure translation — and docker_streams.py — byte streams). A pod is:

- a sandbox container from the built-in pause image (pause.py), on the cluster's user-defined
  bridge network, which gives the pod its IP, hostname, DNS aliases and IPC namespace;
- app and init containers with `NetworkMode/IpcMode = container:<sandbox>`, so they share
  localhost with each other.

A pod with a single container and nothing to share (SandboxConfig.solo) has no sandbox
container: its container is on the network itself, with the pod's hostname and aliases and a
fixed IP from addresses.py, which the next attempt of the container gets again. One container
start instead of two: that is most of a pod's start time.

Every object carries the labels of base.py; we list, watch and remove by them and refuse to
remove anything without them. RestartPolicy is "no": the kubelet restarts, with its own back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import os
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiodocker
import aiohttp
from yarl import URL

from boxk8s.kubelet.runtime import docker_specs as specs
from boxk8s.kubelet.runtime import pause
from boxk8s.kubelet.runtime.addresses import AddressesExhausted, PodAddresses, split_subnet
from boxk8s.kubelet.runtime.base import (
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_POD_UID,
    SANDBOX_NAME,
    ContainerConfig,
    ContainerState,
    ContainerStats,
    ImageError,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
    StartError,
)
from boxk8s.kubelet.runtime.docker_streams import AttachedContainer, DockerExecSession, collect, frames, lines

log = logging.getLogger(__name__)

PROBE_OUTPUT_LIMIT = 1 << 20
_NO_TIMEOUT = aiohttp.ClientTimeout()  # streams and long calls (stop waits out the grace period)
_EVENTS = ["start", "die", "oom", "destroy"]
STATS_CONCURRENCY = 32  # stats calls in flight per node
_IMAGE_EVENTS = ["tag", "load", "import", "pull"]


class DockerError(RuntimeError):
    """A Docker Engine API call failed; `status` is the HTTP status (900: cannot connect)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ContainerStartError(DockerError, StartError):
    """Docker refused to start a container (the protocol's StartError); `state` has what Docker
    recorded (status, exit code, error), for the kubelet to report."""

    def __init__(self, message: str, status: int, state: ContainerState | None) -> None:
        super().__init__(message, status)
        self.state = state


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except aiodocker.DockerError as exc:
        raise DockerError(f"{what}: {exc.message}", exc.status) from exc


class DockerRuntime:
    name = "docker"
    simulated_network = False  # pod IPs are real addresses on the cluster network

    def __init__(self, settings: RuntimeSettings, *, pull_timeout: float = 60.0,
                 addresses: PodAddresses | None = None) -> None:
        """`addresses`: the fixed pod IPs, shared by every runtime on the same network."""
        self.settings = settings
        self.addresses = addresses or PodAddresses(settings.pod_subnet)
        self.network = specs.network_name(settings)
        self.pull_timeout = pull_timeout
        self.sandbox_image_built = False  # whether this runtime imported the pause image
        self.runtime_version = "docker://unknown"  # for Node.status.nodeInfo, known after start()
        self._docker: aiodocker.Docker | None = None
        self._api_version: tuple[int, ...] = (1, 41)
        self._arch = ""
        self._image_lock = asyncio.Lock()
        self._network_lock = asyncio.Lock()
        self._sandbox_image_ready = False
        self.gateway = ""  # the host's address on the cluster network (pods reach the host there), after start()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def docker(self) -> aiodocker.Docker:
        if self._docker is None:
            raise DockerError("the Docker runtime is not started")
        return self._docker

    @property
    def arch(self) -> str:
        """The Docker Engine's machine architecture (after start())."""
        return self._arch or platform.machine()

    async def start(self) -> None:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self.settings.docker_host,
                                            timeout=aiohttp.ClientTimeout(sock_connect=10))
        with _errors("cannot reach the Docker Engine"):
            version = await self.docker.version()
        self._api_version = tuple(int(x) for x in str(version.get("ApiVersion", "1.41")).split("."))
        self._arch = str(version.get("Arch", ""))
        self.runtime_version = f"docker://{version.get('Version', 'unknown')}"
        await self._ensure_network()
        await self._ensure_sandbox_image()
        await self._load_addresses()

    async def close(self) -> None:
        if self._docker is not None:
            docker, self._docker = self._docker, None
            await docker.close()

    async def _ensure_network(self) -> None:
        async with self._network_lock:
            info = await self._get_json(f"networks/{self.network}", "inspect network")
            if info is not None:
                self.gateway = specs.network_gateway(info)
                subnets = [c.get("Subnet") for c in (info.get("IPAM") or {}).get("Config") or []]
                if self.settings.pod_subnet not in subnets:
                    log.warning("network %s exists with subnets %s, not %s; using it as it is",
                                self.network, subnets, self.settings.pod_subnet)
                    if subnets and subnets[0] and not self.addresses.loaded:
                        self.addresses.use_subnet(str(subnets[0]))
                return
            try:
                await _create_network(self.docker, self.network, self.settings.cluster, self.settings.pod_subnet)
            except DockerError as exc:
                if exc.status != 409:  # 409: another node of this cluster made it first
                    raise
            else:
                log.info("created network %s (%s)", self.network, self.settings.pod_subnet)
            self.gateway = specs.network_gateway(await self._get_json(f"networks/{self.network}", "inspect network") or {})

    async def _load_addresses(self) -> None:
        """Learn the fixed IPs in use: solo pods' (from their containers' labels, on every node of
        the cluster) and whatever else is on the network."""
        if self.addresses.loaded or not self.addresses.enabled:
            return
        filters = {"label": [f"{LABEL_CLUSTER}={self.settings.cluster}", specs.LABEL_POD_IP]}
        for c in await self._list(filters):
            labels = c.get("Labels") or {}
            self.addresses.reserve(labels.get(LABEL_POD_UID, ""), labels.get(specs.LABEL_POD_IP, ""))
        info = await self._get_json(f"networks/{self.network}", "inspect network") or {}
        for cid, endpoint in (info.get("Containers") or {}).items():
            ip = str((endpoint or {}).get("IPv4Address", "")).split("/")[0]
            if ip and ip not in self.addresses:
                self.addresses.reserve(f"endpoint:{cid}", ip)
        self.addresses.loaded = True

    async def _ensure_sandbox_image(self) -> None:
        async with self._image_lock:
            if self._sandbox_image_ready:
                return
            image = self.settings.sandbox_image
            info = await self._get_json(f"images/{image}/json", "inspect image")
            labels = ((info or {}).get("Config") or {}).get("Labels") or {}
            if info is not None and specs.LABEL_PAUSE not in labels:
                self._sandbox_image_ready = True  # someone else's image under that name: use it
                return
            arch = self._arch or platform.machine()
            digest = pause.pause_digest(arch)
            if labels.get(specs.LABEL_PAUSE) != digest:
                await self._import_pause(image, arch, digest)
                self.sandbox_image_built = True
            self._sandbox_image_ready = True

    async def _import_pause(self, image: str, arch: str, digest: str) -> None:
        await self.import_image(image, pause.pause_tar(arch), ['ENTRYPOINT ["/pause"]',
                                f"LABEL {LABEL_MANAGED}=true {specs.LABEL_PAUSE}={digest}"], "the sandbox image")
        log.info("built sandbox image %s (pause for %s, %s)", image, arch, digest)

    async def import_image(self, image: str, tar: bytes, changes: list[str], what: str) -> None:
        """Make an image from a root filesystem tar (`docker import`: no registry, no build)."""
        repo, tag = specs.split_repo_tag(image)
        url = URL("images/create").with_query([("fromSrc", "-"), ("repo", repo), ("tag", tag),
                                               *(("changes", c) for c in changes)])
        with _errors(f"cannot import {what} {image}"):
            async with self._request(url, method="POST", data=tar, headers={"Content-Type": "application/x-tar"},
                                     timeout=_NO_TIMEOUT) as resp:
                body = await resp.read()
        for line in body.splitlines():
            message = json.loads(line) if line.strip() else {}
            if "error" in message:
                raise DockerError(f"cannot import {what} {image}: {message['error']}")

    async def image_labels(self, image: str) -> dict[str, str] | None:
        """The image's labels; None when there is no such image."""
        info = await self._get_json(f"images/{image}/json", "inspect image")
        return None if info is None else dict((info.get("Config") or {}).get("Labels") or {})

    # --- images ----------------------------------------------------------------------------------

    async def ensure_image(self, image: str, pull_policy: str) -> str:
        reference = specs.pull_reference(image)  # raises InvalidImageName
        local = await self._image_id(image)
        if pull_policy == "Never":
            if local:
                return local
            raise ImageError("ErrImageNeverPull",
                             f'Container image "{image}" is not present with pull policy of Never')
        if pull_policy != "Always" and local:
            return local
        try:
            await self._pull(reference)
        except ImageError as exc:
            if local:
                # No registry (offline machines, locally built :latest images): keep the local one.
                log.debug("pull of %s failed, using the local image: %s", image, exc.message)
                return local
            raise
        pulled = await self._image_id(image)
        if not pulled:
            raise ImageError("ErrImagePull", f'failed to pull and unpack image "{reference}": not found after pull')
        return pulled

    async def _image_id(self, image: str) -> str:
        info = await self._get_json(f"images/{image}/json", "inspect image")
        return str(info["Id"]) if info else ""

    async def _pull(self, reference: str) -> None:
        error = ""
        try:
            async with asyncio.timeout(self.pull_timeout):
                async with self._request("images/create", method="POST", params={"fromImage": reference},
                                              timeout=_NO_TIMEOUT) as resp:
                    async for line in resp.content:
                        if line.strip():
                            message = json.loads(line)
                            if "error" in message:
                                error = str(message["error"])
        except aiodocker.DockerError as exc:
            error = exc.message
        except TimeoutError:
            error = f"timed out after {self.pull_timeout:g}s"
        except (aiohttp.ClientError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        if error:
            raise ImageError("ErrImagePull", f'failed to pull and unpack image "{reference}": {error}')

    # --- sandboxes -------------------------------------------------------------------------------

    async def run_sandbox(self, config: SandboxConfig,
                          while_starting: Callable[[SandboxState], Awaitable[None]] | None = None) -> SandboxState:
        if config.solo and not config.host_network and self.addresses.enabled:
            # No container: the pod's one container will be on the network itself, with this IP.
            try:
                ip = self.addresses.allocate(config.pod_uid)
            except AddressesExhausted as exc:
                raise DockerError(f"cannot give pod {config.namespace}/{config.pod_name} an IP: {exc}", 503) from exc
            return SandboxState(specs.solo_sandbox_id(config.pod_uid), config.namespace, config.pod_name,
                                config.pod_uid, ip, True, config)
        # The name holds the pod uid, so a create that conflicts finds this pod's earlier sandbox:
        # no list round trip on the usual path.
        name = specs.sandbox_name(self.settings, config)
        spec = specs.sandbox_spec(self.settings, config)
        container_id = await self._create_sandbox(spec, name, config)
        if isinstance(container_id, SandboxState):
            return container_id  # adopted: already running
        created = SandboxState(container_id, config.namespace, config.pod_name, config.pod_uid, "", False)

        async def start() -> None:
            try:
                with _errors(f"cannot start sandbox {name}"):
                    await self.docker.containers.container(container_id).start()
            except DockerError:
                await self._delete(container_id)
                raise

        # Docker needs the sandbox running only to *start* containers joined to it, so the caller
        # may create them meanwhile (`while_starting` must not raise).
        if while_starting is None:
            await start()
        else:
            started, _ = await asyncio.gather(start(), while_starting(created), return_exceptions=True)
            if isinstance(started, BaseException):
                raise started
        info = await self._inspect(container_id)
        if info is None:
            raise DockerError(f"sandbox {name} vanished after start", 404)
        return specs.sandbox_state(info, self.network)

    async def _create_sandbox(self, spec: dict[str, Any], name: str, config: SandboxConfig) -> str | SandboxState:
        """The new sandbox's id, or the state of this pod's sandbox that already runs."""
        for _attempt in range(3):
            try:
                return await self._create(spec, name)
            except DockerError as exc:
                if exc.status == 409:
                    info = await self._inspect(name)
                    labels = ((info or {}).get("Config") or {}).get("Labels") or {}
                    if info is not None and labels.get(LABEL_POD_UID) == config.pod_uid \
                            and specs.is_owned(labels, self.settings):
                        if info["State"].get("Running"):
                            return specs.sandbox_state(info, self.network)
                        await self._delete(info["Id"])  # a dead sandbox: make room for a new one
                        continue
                    raise
                if exc.status != 404:
                    raise
                # The network or the pause image went away since start(): make them again.
                self._sandbox_image_ready = False
                await self._ensure_network()
                await self._ensure_sandbox_image()
        return await self._create(spec, name)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id.startswith(specs.SOLO_PREFIX):
            self.addresses.release(sandbox_id.removeprefix(specs.SOLO_PREFIX))
            return
        await self.remove_container(sandbox_id)

    async def inspect_sandbox(self, sandbox_id: str) -> SandboxState | None:
        if sandbox_id.startswith(specs.SOLO_PREFIX):  # no container: it lasts as long as its pod (run_sandbox)
            return SandboxState(sandbox_id, "", "", sandbox_id.removeprefix(specs.SOLO_PREFIX), "", True)
        info = await self._inspect(sandbox_id)
        return specs.sandbox_state(info, self.network) if info is not None else None

    async def ping(self) -> None:
        with _errors("cannot reach the Docker Engine"):
            async with self._request("_ping", timeout=aiohttp.ClientTimeout(total=5)):
                pass

    async def list_sandboxes(self) -> list[SandboxState]:
        found = await self._list(specs.list_filters(self.settings, f"{LABEL_CONTAINER_NAME}={SANDBOX_NAME}"))
        sandboxes = [specs.sandbox_state(c, self.network) for c in found]
        solo: dict[str, SandboxState] = {}
        for c in await self._list(specs.list_filters(self.settings, specs.LABEL_POD_IP)):
            state = specs.solo_sandbox_state(c.get("Labels") or {})
            if state is not None:
                solo.setdefault(state.pod_uid, state)
        return sandboxes + list(solo.values())

    # --- containers ------------------------------------------------------------------------------

    async def create_container(self, sandbox: SandboxState, config: ContainerConfig) -> ContainerState:
        mounts, binds = await self._mounts(config)
        spec = specs.container_spec(self.settings, sandbox, config, mounts, binds)
        name = specs.container_name(self.settings, sandbox, config)
        try:
            container_id = await self._create(spec, name)
        except DockerError as exc:
            if exc.status != 409:
                raise
            # Same name: the same pod, container and attempt was created before (a retry): adopt it.
            info = await self._inspect(name)
            labels = ((info or {}).get("Config") or {}).get("Labels") or {}
            if info is None or any(labels.get(k) != v for k, v in spec["Labels"].items()):
                raise
            return specs.container_state(info)
        return specs.created_state(container_id, sandbox, config, spec["Labels"])

    async def _mounts(self, config: ContainerConfig) -> tuple[list[dict[str, Any]], list[str]]:
        volume_labels = specs.base_labels(self.settings)
        mounts: list[dict[str, Any]] = []
        binds: list[str] = []
        for mount in config.mounts:
            try:
                entry = specs.mount_spec(mount, volume_labels)
                sub_path = specs.checked_sub_path(mount.sub_path) if mount.sub_path else ""
            except ValueError as exc:
                raise DockerError(f"container {config.name}: {exc}", 400) from exc
            if mount.kind == "bind" and sub_path:
                os.makedirs(entry["Source"], exist_ok=True)
            if mount.kind == "volume" and sub_path:
                if self._api_version >= (1, 45):
                    entry["VolumeOptions"]["Subpath"] = sub_path
                else:
                    # Docker < 25 has no volume subpath. Best effort for the local driver: bind the
                    # folder inside the volume's mountpoint; Docker creates it (as root) if missing.
                    await self.ensure_volume(mount.source)
                    info = await self._get_json(f"volumes/{mount.source}", "inspect volume") or {}
                    suffix = ":ro" if mount.read_only else ""
                    binds.append(f"{info.get('Mountpoint', '')}/{sub_path}:{mount.target}{suffix}")
                    continue
            mounts.append(entry)
        return mounts, binds

    async def start_container(self, container_id: str) -> ContainerState:
        try:
            await self._start_retrying_address(container_id)
        except aiodocker.DockerError as exc:
            info = await self._inspect(container_id)
            state = specs.container_state(info) if info else None
            raise ContainerStartError(f"cannot start container {container_id[:12]}: {exc.message}",
                                      exc.status, state) from exc
        info = await self._inspect(container_id)
        if info is None:
            raise DockerError(f"container {container_id[:12]} vanished after start", 404)
        return specs.container_state(info)

    async def _start_retrying_address(self, container_id: str) -> None:
        """Start; a solo pod's container whose fixed IP its previous attempt still holds (Docker
        releases it a moment after the exit is reported) is tried again for a few seconds."""
        deadline = time.monotonic() + 5.0
        while True:
            try:
                await self.docker.containers.container(container_id).start()
                return
            except aiodocker.DockerError as exc:
                if "already in use" not in exc.message.lower() or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        # Docker sends the image's StopSignal, waits `t` seconds, then SIGKILLs; 304 = not running.
        t = max(0, math.ceil(grace_seconds))
        try:
            async with self._request(f"containers/{container_id}/stop", method="POST",
                                          params={"t": t}, timeout=_NO_TIMEOUT):
                pass
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise DockerError(f"cannot stop container {container_id[:12]}: {exc.message}", exc.status) from exc

    async def remove_container(self, container_id: str) -> None:
        info = await self._inspect(container_id)
        if info is None:
            return
        if not specs.is_owned((info.get("Config") or {}).get("Labels"), self.settings):
            raise DockerError(f"refusing to remove container {container_id[:12]}: "
                              f"not labelled as cluster {self.settings.cluster}'s", 403)
        await self._delete(info["Id"])

    async def inspect_container(self, container_id: str) -> ContainerState | None:
        info = await self._inspect(container_id)
        return specs.container_state(info) if info is not None else None

    async def list_containers(self) -> list[ContainerState]:
        found = [c for c in await self._list(specs.list_filters(self.settings))
                 if (c.get("Labels") or {}).get(LABEL_CONTAINER_NAME) != SANDBOX_NAME]
        # The list lacks exit codes, times and OOM: inspect each (concurrently, a few at a time).
        limit = asyncio.Semaphore(16)

        async def one(container_id: str) -> dict[str, Any] | None:
            async with limit:
                return await self._inspect(container_id)

        infos = await asyncio.gather(*(one(c["Id"]) for c in found))
        return [specs.container_state(info) for info in infos if info is not None]

    async def container_stats(self) -> list[ContainerStats]:
        """One `stats?stream=false&one-shot=true` per running app container, up to STATS_CONCURRENCY
        at once. one-shot (API 1.41+) answers with the cumulative counters of the next tick of
        Docker's 1 s stats collector, so a whole batch waits about one second (measured: ~1.0 s for
        1 to 30 containers, ~2.2 s for 60; scripts/bench_metrics.py); without it, each call waits
        for two ticks (~2 s). The rate over time is the sampler's to compute."""
        found = [c for c in await self._list(specs.stats_filters(self.settings))
                 if specs.is_app_container(c.get("Labels"))]
        limit = asyncio.Semaphore(STATS_CONCURRENCY)

        async def one(entry: dict[str, Any]) -> ContainerStats | None:
            async with limit:
                try:
                    raw = await self.docker._query_json(f"containers/{entry['Id']}/stats",
                                                        params={"stream": "false", "one-shot": "true"})
                except aiodocker.DockerError as exc:
                    if exc.status in (404, 409):  # gone or stopped since the listing
                        return None
                    raise DockerError(f"cannot read stats of {entry['Id'][:12]}: {exc.message}", exc.status) from exc
            return specs.container_stats(entry, raw)

        return [s for s in await asyncio.gather(*(one(c) for c in found)) if s is not None]

    # --- events ----------------------------------------------------------------------------------

    def watch_events(self) -> AsyncIterator[str]:
        # Events are asked for from the moment of this call, so none is lost before the stream opens.
        return self._events(time.time())

    async def _events(self, since: float) -> AsyncIterator[str]:
        filters = {"type": ["container"], "event": _EVENTS, **specs.list_filters(self.settings)}
        async for event in self._event_stream(filters, since):
            uid = ((event.get("Actor") or {}).get("Attributes") or {}).get(LABEL_POD_UID)
            if uid:
                yield uid

    def image_events(self) -> AsyncIterator[tuple[str, str]]:
        """(image name, image id) each time a name is given to an image on this Docker host: a
        `docker build -t`, `tag`, `load`, `import` or `pull`, from now on."""
        return self._image_events(time.time())

    async def _image_events(self, since: float) -> AsyncIterator[tuple[str, str]]:
        async for event in self._event_stream({"type": ["image"], "event": _IMAGE_EVENTS}, since):
            actor = event.get("Actor") or {}
            name = str((actor.get("Attributes") or {}).get("name") or "")
            if name and actor.get("ID"):
                yield name, str(actor["ID"])

    async def _event_stream(self, filters: dict[str, list[str]], since: float) -> AsyncIterator[dict[str, Any]]:
        """Docker's events matching `filters` from `since` on, reconnecting (from the last one seen)
        when the stream breaks."""
        backoff = 0.2
        while True:
            params = {"since": f"{since:.9f}", "filters": json.dumps(filters)}
            try:
                async with self._request("events", params=params, timeout=_NO_TIMEOUT) as resp:
                    backoff = 0.2
                    async for line in resp.content:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        since = max(since, event.get("timeNano", 0) / 1e9)
                        yield event
                log.debug("docker event stream ended; reconnecting")
            except (aiodocker.DockerError, aiohttp.ClientError, OSError, ValueError) as exc:
                log.debug("docker event stream failed (%s); reconnecting in %.1fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    # --- exec and logs ---------------------------------------------------------------------------

    async def exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> DockerExecSession:
        container = self.docker.containers.container(container_id)
        with _errors(f"cannot exec in container {container_id[:12]}"):
            exec_ = await container.exec(list(command), stdout=True, stderr=True, stdin=stdin, tty=tty)
            stream = exec_.start(detach=False)
            await stream._init()  # open the hijacked connection now, so stdin can be written at once
        return DockerExecSession(exec_, stream)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> DockerExecSession:
        container = self.docker.containers.container(container_id)
        with _errors(f"cannot attach to container {container_id[:12]}"):
            stream = container.attach(stdout=True, stderr=True, stdin=stdin)
            await stream._init()  # as for exec: the connection is open before the client writes
        return DockerExecSession(AttachedContainer(container), stream, half_close=False)

    async def exec_probe(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        # On timeout the command keeps running in the container, as with Kubernetes' exec probes.
        async with asyncio.timeout(timeout):
            session = await self.exec(container_id, command, stdin=False, tty=False)
            try:
                output = await collect(session, PROBE_OUTPUT_LIMIT)
                code = await session.wait()
            finally:
                await session.close()
        return code, output

    async def run_input(self, container_id: str, command: list[str], data: bytes,
                        timeout: float) -> tuple[int, bytes]:
        """Run a command with `data` on its stdin (then EOF) to completion: (exit code, output)."""
        async with asyncio.timeout(timeout):
            session = await self.exec(container_id, command, stdin=True, tty=False)
            try:
                await session.write_stdin(data)
                await session.close_stdin()
                output = await collect(session, PROBE_OUTPUT_LIMIT)
                code = await session.wait()
            finally:
                await session.close()
        return code, output

    def logs(self, container_id: str, *, follow: bool, tail: int | None, since: float | None,
             timestamps: bool) -> AsyncIterator[bytes]:
        return self._logs(container_id, follow, tail, since, timestamps)

    async def _logs(self, container_id: str, follow: bool, tail: int | None, since: float | None,
                    timestamps: bool) -> AsyncIterator[bytes]:
        info = await self._inspect(container_id)
        if info is None:
            raise DockerError(f"no such container: {container_id}", 404)
        container_id, tty = info["Id"], bool(info["Config"].get("Tty"))
        if not follow:
            async for line in self._log_lines(container_id, tty, tail, since, timestamps, False):
                yield line
            return
        # Docker ends a followed stream when the container stops, but may do so before the logger
        # has written the last lines (`docker logs -f` loses a final partial line). So we read with
        # timestamps and, once the stream ends, ask again for anything newer than the last line seen.
        last: tuple[int, int] | None = None
        async for line in self._log_lines(container_id, tty, tail, since, True, True):
            last = specs.log_time(line) or last
            yield line if timestamps else specs.strip_log_time(line)
        catch_up = since if last is None else last[0] + last[1] / 1e9
        async for line in self._log_lines(container_id, tty, None if last else tail, catch_up, True, False):
            stamp = specs.log_time(line)
            if last is not None and stamp is not None and stamp <= last:
                continue
            yield line if timestamps else specs.strip_log_time(line)

    async def _log_lines(self, container_id: str, tty: bool, tail: int | None, since: float | None,
                         timestamps: bool, follow: bool) -> AsyncIterator[bytes]:
        params: dict[str, Any] = {"stdout": True, "stderr": True, "follow": follow, "timestamps": timestamps,
                                  "tail": "all" if tail is None else str(max(tail, 0))}
        if since:
            params["since"] = f"{since:.9f}"
        with _errors(f"cannot read logs of container {container_id[:12]}"):
            async with self._request(f"containers/{container_id}/logs", params=params,
                                          timeout=_NO_TIMEOUT) as resp:
                async for line in lines(frames(resp.content, tty)):
                    yield line

    # --- volumes ---------------------------------------------------------------------------------

    async def ensure_volume(self, name: str) -> str:
        info = await self._get_json(f"volumes/{name}", "inspect volume")
        if info is not None:
            if not specs.is_owned(info.get("Labels"), self.settings):
                raise DockerError(f"volume {name} exists but is not labelled as cluster {self.settings.cluster}'s",
                                  409)
            return name
        with _errors(f"cannot create volume {name}"):
            await self.docker._query_json("volumes/create", method="POST",
                                          data={"Name": name, "Labels": specs.base_labels(self.settings)})
        return name

    async def remove_volume(self, name: str) -> None:
        info = await self._get_json(f"volumes/{name}", "inspect volume")
        if info is None:
            return
        if not specs.is_owned(info.get("Labels"), self.settings):
            raise DockerError(f"refusing to remove volume {name}: not labelled as cluster {self.settings.cluster}'s",
                              403)
        try:
            async with self._request(f"volumes/{name}", method="DELETE"):
                pass
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise DockerError(f"cannot remove volume {name}: {exc.message}", exc.status) from exc

    # --- small helpers ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _request(self, path: str | URL, method: str = "GET", **kw: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        """A raw API call; the response is released after use, or closed if left early (a stream
        cancelled or abandoned mid-read), so no connection leaks."""
        async with self.docker._query(path, method, **kw) as resp:
            try:
                yield resp
            except BaseException:
                resp.close()
                raise
            resp.release()

    async def _get_json(self, path: str, what: str) -> dict[str, Any] | None:
        """GET a JSON object, or None on 404."""
        try:
            return await self.docker._query_json(path)  # type: ignore[no-any-return]
        except aiodocker.DockerError as exc:
            if exc.status == 404:
                return None
            raise DockerError(f"cannot {what} {path.split('/')[1]}: {exc.message}", exc.status) from exc

    async def _inspect(self, container_id: str) -> dict[str, Any] | None:
        return await self._get_json(f"containers/{container_id}/json", "inspect container")

    async def _list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        with _errors("cannot list containers"):
            return await self.docker._query_json(  # type: ignore[no-any-return]
                "containers/json", params={"all": True, "filters": json.dumps(filters)})

    async def _create(self, spec: dict[str, Any], name: str) -> str:
        with _errors(f"cannot create container {name}"):
            created = await self.docker.containers.create(spec, name=name)
        return created.id

    async def _delete(self, container_id: str) -> None:
        try:
            async with self._request(f"containers/{container_id}", method="DELETE",
                                          params={"force": True, "v": True}):
                pass
        except aiodocker.DockerError as exc:
            # 404: gone already; 409: a removal is already in progress.
            if exc.status not in (404, 409):
                raise DockerError(f"cannot remove container {container_id[:12]}: {exc.message}",
                                  exc.status) from exc


    # Docker's own JSON, for the cluster's network agent (netagent.py), which is no pod.
    inspect_json = _inspect
    list_json = _list
    create_json = _create
    delete = _delete


# --- the cluster as a whole: its place among the machine's networks, and its removal ----------------

@dataclass(frozen=True)
class NetworkInfo:
    name: str
    labels: dict[str, str]
    subnets: tuple[str, ...]


class SubnetTaken(DockerError):
    """Docker refused the network: its subnet overlaps another network's ("Pool overlaps")."""


async def _create_network(docker: aiodocker.Docker, name: str, cluster: str, subnet: str) -> None:
    ipam: dict[str, str] = {"Subnet": subnet}
    split = split_subnet(subnet)
    if split is not None:
        ipam["IPRange"] = split[0]  # Docker's half; the other is for fixed pod IPs
        # The subnet's first host, said explicitly: given an IPRange, Docker would take the
        # range's first address, here the subnet's own network address.
        ipam["Gateway"] = str(next(ipaddress.ip_network(subnet, strict=False).hosts()))
    body = {
        "Name": name,
        "Driver": "bridge",
        "CheckDuplicate": True,
        "IPAM": {"Driver": "default", "Config": [ipam]},
        "Labels": {LABEL_MANAGED: "true", LABEL_CLUSTER: cluster},
    }
    try:
        await docker._query_json("networks/create", method="POST", data=body)
    except aiodocker.DockerError as exc:
        kind = SubnetTaken if "overlap" in str(exc.message).lower() else DockerError
        raise kind(f"cannot create network {name} with subnet {subnet}: {exc.message} (choose another pod "
                   "subnet?)", exc.status) from exc


@contextlib.asynccontextmanager
async def _engine(docker_host: str | None) -> AsyncIterator[aiodocker.Docker]:
    docker = aiodocker.Docker(url=docker_host, timeout=aiohttp.ClientTimeout(sock_connect=10))
    try:
        with _errors("cannot reach the Docker Engine"):
            await docker.version()
        yield docker
    finally:
        await docker.close()


async def list_networks(docker_host: str | None = None) -> list[NetworkInfo]:
    """Every Docker network with its IPAM subnets: a new cluster's pod subnet must overlap none."""
    async with _engine(docker_host) as docker:
        with _errors("cannot list networks"):
            found = await docker._query_json("networks")
    return [NetworkInfo(str(n.get("Name", "")), dict(n.get("Labels") or {}),
                        tuple(str(c["Subnet"]) for c in (n.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")))
            for n in found]


async def create_network(cluster: str, subnet: str, docker_host: str | None = None) -> bool:
    """Make the cluster's network with `subnet` now, before its runtimes start (which then find it),
    so that two clusters starting at once cannot both take one subnet: the second gets SubnetTaken
    and chooses again. False: the network exists already."""
    async with _engine(docker_host) as docker:
        try:
            await _create_network(docker, specs.network_name(RuntimeSettings(cluster=cluster)), cluster, subnet)
        except DockerError as exc:
            if exc.status == 409:
                return False
            raise
    return True


@dataclass(frozen=True)
class Removed:
    containers: list[str]
    networks: list[str]
    volumes: list[str]


async def remove_cluster(cluster: str, *, volumes: bool, docker_host: str | None = None) -> Removed:
    """Remove every container (pods and the network agent) and network labelled as `cluster`'s,
    and with `volumes` its volumes (the claims' data). Only what carries both of our labels."""
    labels = {"label": [f"{LABEL_MANAGED}=true", f"{LABEL_CLUSTER}={cluster}"]}
    removed = Removed([], [], [])
    async with _engine(docker_host) as docker:
        with _errors("cannot list containers"):
            containers = await docker._query_json("containers/json",
                                                  params={"all": True, "filters": json.dumps(labels)})
        for c in containers:  # the containers first: a network with endpoints cannot go
            try:
                async with docker._query(f"containers/{c['Id']}", "DELETE", params={"force": True, "v": True}):
                    pass
            except aiodocker.DockerError as exc:
                if exc.status not in (404, 409):
                    raise DockerError(f"cannot remove container {c['Id'][:12]}: {exc.message}", exc.status) from exc
            removed.containers.append(str((c.get("Names") or [c["Id"][:12]])[0]).lstrip("/"))
        with _errors("cannot list networks"):
            networks = await docker._query_json("networks", params={"filters": json.dumps(labels)})
        for n in networks:
            with _errors(f"cannot remove network {n['Name']}"):
                async with docker._query(f"networks/{n['Id']}", "DELETE"):
                    pass
            removed.networks.append(str(n["Name"]))
        if volumes:
            with _errors("cannot list volumes"):
                found = (await docker._query_json("volumes", params={"filters": json.dumps(labels)})) or {}
            for v in found.get("Volumes") or []:
                with _errors(f"cannot remove volume {v['Name']}"):
                    async with docker._query(f"volumes/{v['Name']}", "DELETE"):
                        pass
                removed.volumes.append(str(v["Name"]))
    return removed


__all__ = ["ContainerStartError", "DockerError", "DockerRuntime", "NetworkInfo", "Removed", "SubnetTaken",
           "create_network", "list_networks", "remove_cluster"]
