"""One pod's worker: converge the runtime to the pod, run its probes, report its status.

The worker keeps what the runtime told it (sandbox, containers, refreshed by inspect after
each event) and what Kubernetes keeps only in kubelet memory (back-off entries, waiting
reasons, probe results). `plan.plan_pod_actions` decides; `_execute` performs. It sees its
kubelet only through a `WorkerContext` (runtime, client, events, clock, settings, node facts);
`container_config` turns the spec into what the runtime is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from boxk8s import errors
from boxk8s.client import Kind
from boxk8s.client.informer import object_key
from boxk8s.kubelet import plan as p
from boxk8s.kubelet import tokens as tk
from boxk8s.kubelet.container_config import container_config, pull_policy, sandbox_config, uses_pod_ip
from boxk8s.kubelet.context import WorkerContext
from boxk8s.kubelet.dns import PodDns, plan_pod_dns
from boxk8s.kubelet.env import ConfigError, referenced, service_env
from boxk8s.kubelet.probes import ProbeKind, Prober, run_probe
from boxk8s.kubelet.runtime.base import ContainerConfig, ContainerState, ImageError, SandboxState, StartError
from boxk8s.kubelet.status import StatusInputs, compute_pod_status
from boxk8s.kubelet.volumes import (
    VolumeError,
    VolumeSource,
    cleanup_volumes,
    prepare_volumes,
    resolv_conf_path,
    write_file,
    write_token,
)
from boxk8s.resources.meta import parse_time

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
MAX_ROUNDS = 12  # plan/execute rounds per sync before reporting status


def container_specs(pod: Mapping[str, Any] | None) -> dict[str, Obj]:
    spec = (pod or {}).get("spec") or {}
    return {c["name"]: c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}


def field_path(pod: Mapping[str, Any], name: str) -> str:
    spec = pod.get("spec") or {}
    init = any(c.get("name") == name for c in spec.get("initContainers") or [])
    return f"spec.initContainers{{{name}}}" if init else f"spec.containers{{{name}}}"


class ProbeResults:
    def __init__(self) -> None:
        self.ready: dict[str, bool] = {}
        self.started: dict[str, bool] = {}
        self.unhealthy: dict[str, str] = {}

    def forget(self, container_id: str) -> None:
        for d in (self.ready, self.started, self.unhealthy):
            d.pop(container_id, None)


class PodWorker:
    """Runs one pod uid until it has terminated and been cleaned up; `ctx` is shared by all the
    workers of a kubelet."""

    def __init__(self, ctx: WorkerContext, uid: str, pod: Obj | None, *,
                 sandbox: SandboxState | None = None, containers: list[ContainerState] | None = None) -> None:
        self.ctx = ctx
        self.uid = uid
        self.pod = pod  # the newest object; None once it is gone from the store
        self.last_pod = pod  # the last one seen, for cleanup after it is gone
        self.sandbox = sandbox
        self.containers: dict[str, ContainerState] = {c.id: c for c in containers or []}
        self.backoff: dict[str, p.BackoffEntry] = {}
        self.waiting: dict[str, tuple[str, str]] = {}
        self.volumes: dict[str, VolumeSource] | None = None
        self.tokens: dict[tuple[str, int], tk.Issued] = {}  # the projected ServiceAccount tokens (kubelet/tokens.py)
        self.dns: PodDns | None = None  # formed when the sandbox is made (kubelet/dns.py)
        self.probes = ProbeResults()
        self.done = False
        self._wake = asyncio.Event()
        self._probers: dict[tuple[str, ProbeKind], asyncio.Task[None]] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._failures = 0
        self._announced: set[tuple[str, str, float]] = set()
        self._exits_shown: set[str] = set()  # ids of ended containers already reported as terminated
        self._precreated: set[str] = set()  # containers created while the sandbox started, not yet started
        self._check_sandbox = False  # inspect the sandbox at the next sync (a runtime event may be about it)
        self._sandboxes_changed: set[str] = set()  # dead sandboxes already announced (SandboxChanged)
        self.syncs = 0  # completed sync rounds (tests wait on it)

    @property
    def key(self) -> str:
        return object_key(self.last_pod or {"metadata": {"name": self.uid}})

    # ---- inputs from the kubelet ----------------------------------------------------------
    def set_pod(self, pod: Obj | None, *, wake: bool = True) -> None:
        self.pod = pod
        if pod is not None:
            self.last_pod = pod
        if wake:
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    @property
    def failing(self) -> bool:
        """Its last sync failed (it retries after a back-off)."""
        return self._failures > 0

    @property
    def sandbox_in_doubt(self) -> bool:
        return self._check_sandbox

    def runtime_event(self) -> None:
        """The runtime said something of this pod's containers or sandbox changed: look at both."""
        self._check_sandbox = True
        self.wake()

    def recover(self) -> None:
        """The runtime answers again after an outage: a worker it made fail syncs now, with no
        back-off left from it; one skipping its syncs meanwhile syncs now."""
        self._failures = 0
        self.wake()

    def absorb(self, sandboxes: list[SandboxState], containers: list[ContainerState]) -> None:
        """A periodic listing of the runtime: learn new and changed things, never forget by it
        (a listing taken before our last create would not show what we just made), and never take
        a running sandbox for dead by it (it may have been listed while it started): a sandbox
        missing or stopped there is inspected at the next sync instead."""
        if sandboxes:
            mine = next((s for s in sandboxes if self.sandbox is not None and s.id == self.sandbox.id), None)
            if mine is not None and self.sandbox is not None and self.sandbox.running and not mine.running:
                self._check_sandbox = True  # a listing taken while it started, or is it dead? An inspect tells
            elif mine is not None:
                self.sandbox = mine
            elif self.sandbox is None:
                self.sandbox = next((s for s in sandboxes if s.running), sandboxes[0])
        for c in containers:
            self.containers[c.id] = c
        if self.sandbox is not None and not any(s.id == self.sandbox.id for s in sandboxes):
            self._check_sandbox = True  # removed, or made after the listing: an inspect tells which

    # ---- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            try:
                while not self.done:
                    self._wake.clear()
                    wake_at = await self._sync_safely()
                    if self.done:
                        break
                    delay = self.ctx.settings.status_resync_seconds
                    if wake_at is not None:
                        delay = min(delay, max(wake_at - self.ctx.clock.now(), 0.0))
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
            finally:
                self._stop_probers()

    async def _sync_safely(self) -> float | None:
        if not self.ctx.runtime_up():
            return None  # kubelet's "Skipping pod synchronization": the last status stays as it is
        try:
            wake_at = await self.sync()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # level-triggered: the next round re-reads everything
            self._failures += 1
            delay = min(0.5 * 2 ** (self._failures - 1), 30.0)
            log.warning("pod/%s: sync failed (%s); retrying in %.1fs", self.key, e, delay,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            return self.ctx.clock.now() + delay
        self._failures = 0
        return wake_at

    async def sync(self) -> float | None:
        try:
            return await self._sync()
        finally:
            self.syncs += 1

    async def _sync(self) -> float | None:
        await self._refresh()
        token_due = await self._refresh_tokens()
        actions: list[p.Action] = []
        for _round in range(MAX_ROUNDS):
            await self._report_exits()
            actions = p.plan_pod_actions(self.pod, self._observed(), self.ctx.clock.now(), self.backoff,
                                         self.ctx.settings)
            if not await self._execute(actions):
                break
            await self._refresh()
        if self.done:
            return None
        self._sync_probers()
        if self.pod is not None and not (self.pod.get("metadata") or {}).get("deletionTimestamp"):
            await self._report_status()
        wake = p.next_wake(actions)
        return token_due if wake is None else wake if token_due is None else min(wake, token_due)

    async def _report_exits(self) -> None:
        """Report a container that just ended as terminated (Error, Completed, OOMKilled) before
        planning: as with kubelet, whose status follows the runtime before a back-off decision
        turns it into waiting (CrashLoopBackOff), clients see every exit."""
        latest = [items[0] for items in p.instances_by_name(tuple(self.containers.values())).values()]
        ended = {c.id for c in latest if p.has_exited(c)}
        new = ended - self._exits_shown
        self._exits_shown = ended
        pod = self.pod
        if new and pod is not None and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self._report_status()

    def _observed(self) -> p.PodObserved:
        return p.PodObserved(self.sandbox, tuple(self.containers.values()), dict(self.probes.unhealthy))

    async def _refresh(self) -> None:
        """Re-inspect what may have changed (not exited containers): events only say *that* it did."""
        if self._check_sandbox and self.sandbox is not None and self.sandbox.running:
            self._check_sandbox = False
            now = await self.ctx.runtime.inspect_sandbox(self.sandbox.id)
            if now is None or not now.running:  # stopped or removed behind our back
                log.info("pod/%s: sandbox %s %s", self.key, self.sandbox.id[:12], "removed" if now is None else "died")
                self.sandbox = replace(self.sandbox, running=False)
        for cid, c in list(self.containers.items()):
            if c.status in ("exited",) and c.finished_at:
                continue
            state = await self.ctx.runtime.inspect_container(cid)
            if state is None:
                self.containers.pop(cid, None)
                self.probes.forget(cid)
            else:
                self.containers[cid] = state
                if state.status != "running":
                    self.probes.unhealthy.pop(cid, None)

    # ---- executing ------------------------------------------------------------------------
    async def _execute(self, actions: list[p.Action]) -> bool:
        """Perform the actions in order; True if anything changed in the runtime."""
        progressed = False
        for a in actions:
            if isinstance(a, p.SandboxChanged) and a.sandbox_id not in self._sandboxes_changed:
                self._sandboxes_changed.add(a.sandbox_id)
                await self._event(NORMAL, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        kills = [a for a in actions if isinstance(a, p.KillContainer)]
        if kills:
            await asyncio.gather(*(self._kill(a) for a in kills))
            progressed = True
        for a in actions:
            if isinstance(a, p.KillContainer):
                continue
            if isinstance(a, p.RecordBackoff):
                self.backoff[a.key] = a.entry
            elif isinstance(a, p.Wait):
                await self._wait(a)

            elif isinstance(a, p.CreateSandbox):
                if not await self._create_sandbox():
                    return False
                progressed = True
            elif isinstance(a, p.RemoveSandbox):
                await self.ctx.runtime.remove_sandbox(a.sandbox_id)
                self.sandbox = None
                progressed = True
            elif isinstance(a, p.StartContainer):
                await self._start(a)
                progressed = True
            elif isinstance(a, p.StartCreated) and a.container_id in self._precreated:
                await self._start_created(a)
                progressed = True
            elif isinstance(a, p.StartCreated):
                self.containers[a.container_id] = await self.ctx.runtime.start_container(a.container_id)
                await self._event(NORMAL, "Started", f"Started container {a.name}", a.name)
                progressed = True
            elif isinstance(a, p.RemoveContainer):
                await self.ctx.runtime.remove_container(a.container_id)
                self.containers.pop(a.container_id, None)
                self.probes.forget(a.container_id)
                progressed = True
            elif isinstance(a, p.FinishPod):
                await self._finish(a)
                return False
        return progressed

    async def _wait(self, a: p.Wait) -> None:
        self.waiting[a.name] = (a.reason, a.message)
        mark = (a.name, a.reason, a.until)
        if mark in self._announced or self.pod is None:
            return
        self._announced.add(mark)
        if a.reason == "CrashLoopBackOff":
            await self._event(WARNING, "BackOff", f"Back-off restarting failed container {a.name} in pod "
                                                  f"{p.pod_label(self.pod)}", a.name)
        elif a.reason == "ImagePullBackOff":
            image = container_specs(self.pod).get(a.name, {}).get("image", "")
            await self._event(NORMAL, "BackOff", f'Back-off pulling image "{image}"', a.name)
            await self._event(WARNING, "Failed", "Error: ImagePullBackOff", a.name)

    async def _ensure_volumes(self, pod: Obj) -> dict[str, VolumeSource]:
        """The pod's volumes, set up once per worker: for a new sandbox, and for the first container
        started in a sandbox adopted after a restart (its mounts must be there too)."""
        if self.volumes is None:
            try:
                configmaps, secrets = await self._fetch_sources()
                sources = tk.token_sources(pod)
                await self._fetch_tokens(pod, tk.plan_refresh(sources, self.tokens, self.ctx.clock.now()))
                self.volumes = await prepare_volumes(
                    pod, self.ctx.runtime, state_dir=self.ctx.state_dir, cluster=self.ctx.cluster,
                    configmaps=configmaps, secrets=secrets, host_ip=self.ctx.host_ip,
                    tokens={k: v.token.encode() for k, v in self.tokens.items()})
            except VolumeError as e:
                await self._event(WARNING, "FailedMount", str(e))
                raise
        return self.volumes

    async def _create_sandbox(self) -> bool:
        pod = self.pod
        assert pod is not None
        await self._ensure_volumes(pod)
        s = self.ctx.settings
        try:
            self.dns = self._form_dns(pod, write=True)
        except OSError as e:  # the node's resolv.conf cannot be read, or the pod's not written
            await self._event(WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {_os_error(e)}")
            raise
        for warning in self.dns.warnings:
            await self._event(WARNING, warning.reason, warning.message)
        config = sandbox_config(pod, self.uid, solo_pods=s.solo_pods, cluster_domain=s.cluster_domain, dns=self.dns)
        try:
            self.sandbox = await self.ctx.runtime.run_sandbox(config, self._precreate)
        except Exception as e:
            for cid in self._precreated:  # joined to a sandbox that is gone
                self.containers.pop(cid, None)
                with contextlib.suppress(Exception):
                    await self.ctx.runtime.remove_container(cid)
            self._precreated.clear()
            await self._event(WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}")
            raise
        return True

    def _form_dns(self, pod: Obj, *, write: bool) -> PodDns:
        """The pod's DNS (`dns.plan_pod_dns`, as kubelet's `GetPodDNS` for each new sandbox) and,
        when it is a file, the file in the pod's directory (written if `write` or missing)."""
        s = self.ctx.settings
        if self.ctx.runtime.simulated_network:
            return PodDns(None)  # a simulated pod resolves nothing: no file, and no MissingClusterDNS per pod
        host = ""
        if s.resolv_conf:
            with open(s.resolv_conf, encoding="utf-8", errors="replace") as f:
                host = f.read(1 << 20)
        dns = plan_pod_dns(pod, cluster_dns=s.cluster_dns, cluster_domain=s.cluster_domain, host_resolv_conf=host)
        path = resolv_conf_path(self.ctx.state_dir, self.uid)
        if dns.resolv_conf is not None and (write or not path.exists()):
            write_file(path, dns.resolv_conf.encode())
        return dns

    def _resolv_conf(self) -> str:
        """The host path of the pod's resolv.conf for its containers' /etc/resolv.conf; "" when
        the runtime's own DNS serves the pod. A sandbox adopted after a restart had its DNS formed
        when it was made: it is formed again to know which, and its file kept as it was (as the
        CRI keeps a sandbox's resolv.conf), written only if missing."""
        if self.dns is None:
            self.dns = self._form_dns(self.pod or {}, write=False)
        if self.dns.resolv_conf is None:
            return ""
        return str(resolv_conf_path(self.ctx.state_dir, self.uid))

    async def _precreate(self, sandbox: SandboxState) -> None:
        """While the sandbox starts, create (not start) the containers the next round starts, in
        order, stopping at the first one that needs the pod IP or a pull, or fails: the usual path
        then does the rest, with its events and back-offs."""
        pod = self.pod
        if pod is None:
            return
        observed = p.PodObserved(replace(sandbox, running=True), tuple(self.containers.values()), {})
        planned = p.plan_pod_actions(pod, observed, self.ctx.clock.now(), self.backoff, self.ctx.settings)
        for a in planned:
            if not isinstance(a, p.StartContainer):
                continue
            c = container_specs(pod)[a.name]
            image = c.get("image", "")
            if pull_policy(c) == "Always" or uses_pod_ip(c):
                return
            try:
                await self.ctx.runtime.ensure_image(image, "Never")
                configmaps, secrets = await self._fetch_sources()
                config = self._container_config(c, a, configmaps, secrets)
                state = await self.ctx.runtime.create_container(sandbox, config)
            except Exception as e:  # noqa: BLE001 - the usual path retries and reports it
                log.debug("pod/%s: not created ahead (%s)", self.key, e)
                return
            self.containers[state.id] = state
            self._precreated.add(state.id)
            await self._event(NORMAL, "Pulled", f'Container image "{image}" already present on machine', a.name)
            await self._event(NORMAL, "Created", f"Created container: {a.name}", a.name)

    async def _start_created(self, a: p.StartCreated) -> None:
        """Start a container `_precreate` made: the tail of `_start`."""
        self._precreated.discard(a.container_id)
        await self._start_created_container(a.name, a.container_id, container_specs(self.pod).get(a.name, {}))

    async def _start_created_container(self, name: str, container_id: str, c: Obj) -> None:
        """Start a created container and record it: Started event, postStart hook, or Failed."""
        try:
            state = await self.ctx.runtime.start_container(container_id)
        except Exception as e:
            known = e.state if isinstance(e, StartError) else None
            got = known or await self.ctx.runtime.inspect_container(container_id)
            if got is not None:
                self.containers[got.id] = got
            await self._event(WARNING, "Failed", f"Error: {e}", name)
            return
        self.containers[state.id] = state
        self.waiting.pop(name, None)
        self.backoff.pop(f"create/{name}", None)
        await self._event(NORMAL, "Started", f"Started container {name}", name)
        await self._post_start(c, state)

    async def _fetch_tokens(self, pod: Obj, due: list[tk.Source]) -> None:
        """Ask the API for the tokens of these projections (bound to the pod); VolumeError if refused."""
        md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        for source in due:
            try:
                answer = await self.ctx.client.create_token(md.get("namespace", "default"),
                                                            spec.get("serviceAccountName") or "default",
                                                            tk.token_request(pod, source))
            except errors.ApiError as e:
                raise VolumeError(source.volume, f"failed to fetch token: {e.message}") from e
            status = answer.get("status") or {}
            expires = parse_time(status.get("expirationTimestamp"))
            self.tokens[tk.key(source)] = tk.Issued(
                status.get("token", ""), expires.timestamp() if expires else self.ctx.clock.now(),
                source.expiration_seconds)

    async def _refresh_tokens(self) -> float | None:
        """The token manager's refresh: tokens past 80% of their life are asked again and written
        into their volumes. Returns when the next one is due (None: no tokens)."""
        pod = self.pod
        set_up = self.volumes is not None or self.sandbox is not None  # made here, or adopted after a restart
        if not set_up or pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return None
        due = tk.plan_refresh(tk.token_sources(pod), self.tokens, self.ctx.clock.now())
        if due:
            try:
                await self._fetch_tokens(pod, due)
            except VolumeError as e:  # keep the old token; try again in a while
                log.warning("pod/%s: %s", self.key, e)
                return self.ctx.clock.now() + 10.0
            for source in due:
                try:
                    write_token(self.ctx.state_dir, pod, source.volume, source.path,
                                self.tokens[tk.key(source)].token.encode())
                except OSError as e:
                    log.warning("pod/%s: cannot write the refreshed token: %s", self.key, e)
        return tk.next_refresh(self.tokens)

    async def _fetch_sources(self) -> tuple[dict[str, Obj | None], dict[str, Obj | None]]:
        await self.ctx.services_synced()  # the Service variables come with the rest of the env
        pod = self.pod or {}
        ns = (pod.get("metadata") or {}).get("namespace", "default")
        cm_names, secret_names = referenced(pod)

        async def get(kind: Any, name: str) -> Obj | None:
            try:
                return await self.ctx.client.get(kind, ns, name)
            except errors.NotFound:
                return None

        configmaps = {n: await get(Kind.CONFIGMAP, n) for n in cm_names}
        secrets = {n: await get(Kind.SECRET, n) for n in secret_names}
        return configmaps, secrets

    async def _pull(self, c: Obj) -> str:
        image = c.get("image", "")
        policy = pull_policy(c)
        name = c["name"]
        if policy != "Always":
            try:
                image_id = await self.ctx.runtime.ensure_image(image, "Never")
            except ImageError as e:
                if policy == "Never" or e.reason == "InvalidImageName":
                    raise
            else:
                await self._event(NORMAL, "Pulled", f'Container image "{image}" already present on machine', name)
                return image_id
        await self._event(NORMAL, "Pulling", f'Pulling image "{image}"', name)
        started = time.monotonic()
        image_id = await self.ctx.runtime.ensure_image(image, policy)
        took = time.monotonic() - started
        await self._event(NORMAL, "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s', name)
        return image_id

    async def _start(self, a: p.StartContainer) -> None:
        pod = self.pod
        assert pod is not None and self.sandbox is not None
        c = container_specs(pod)[a.name]
        now = self.ctx.clock.now()
        s = self.ctx.settings
        try:
            await self._pull(c)
        except ImageError as e:
            if e.reason in ("ErrImageNeverPull", "InvalidImageName"):
                self._fail_create(a.name, e.reason, e.message, now)
                await self._event(WARNING, e.reason, e.message, a.name)
            else:
                key = f"image/{a.name}"
                self.backoff[key] = p.next_backoff(self.backoff.get(key), now, s.image_backoff_base_seconds,
                                                   s.image_backoff_max_seconds, p.reset_after(s), e.reason,
                                                   e.message)
                self.waiting[a.name] = (e.reason, e.message)
                await self._event(WARNING, "Failed", f'Failed to pull image "{c.get("image", "")}": {e.message}',
                                  a.name)
                await self._event(WARNING, "Failed", f"Error: {e.reason}", a.name)
                # As kubelet's status shows: ErrImagePull after the failed pull, before the
                # back-off that follows turns it into ImagePullBackOff.
                await self._report_status()
            return
        self.backoff.pop(f"image/{a.name}", None)
        if self.pod is not None:
            await self._ensure_volumes(self.pod)
        try:
            configmaps, secrets = await self._fetch_sources()
            config = self._container_config(c, a, configmaps, secrets)
        except ConfigError as e:
            self._fail_create(a.name, "CreateContainerConfigError", str(e), now)
            await self._event(WARNING, "Failed", f"Error: {e}", a.name)
            return
        try:
            state = await self.ctx.runtime.create_container(self.sandbox, config)
        except Exception as e:
            self._fail_create(a.name, "CreateContainerError", str(e), now)
            await self._event(WARNING, "Failed", f"Error: {e}", a.name)
            return
        self.containers[state.id] = state
        await self._event(NORMAL, "Created", f"Created container: {a.name}", a.name)
        await self._start_created_container(a.name, state.id, c)

    def _fail_create(self, name: str, reason: str, message: str, now: float) -> None:
        s = self.ctx.settings
        key = f"create/{name}"
        self.backoff[key] = p.next_backoff(self.backoff.get(key), now, s.image_backoff_base_seconds,
                                           s.image_backoff_max_seconds, p.reset_after(s), reason, message)
        self.waiting[name] = (reason, message)

    async def _post_start(self, c: Obj, state: ContainerState) -> None:
        command = ((((c.get("lifecycle") or {}).get("postStart") or {}).get("exec") or {}).get("command"))
        if not command:
            return
        try:
            code, out = await self.ctx.runtime.exec_probe(state.id, list(command), 30.0)
        except Exception as e:  # noqa: BLE001 - any failure of the hook counts
            code, out = -1, str(e).encode()
        if code != 0:
            msg = f"PostStartHook failed: {out.decode(errors='replace').strip() or f'exit code {code}'}"
            await self._event(WARNING, "FailedPostStartHook", msg, c["name"])
            await self.ctx.runtime.stop_container(state.id, p.MIN_GRACE_SECONDS)

    def _container_config(self, c: Obj, a: p.StartContainer, configmaps: Mapping[str, Obj | None],
                          secrets: Mapping[str, Obj | None]) -> ContainerConfig:
        return container_config(self.pod or {}, c, attempt=a.attempt, init=a.init, configmaps=configmaps,
                                secrets=secrets, volumes=self.volumes or {},
                                pod_ip=self.sandbox.ip if self.sandbox else "", host_ip=self.ctx.host_ip,
                                node_allocatable=self.ctx.node_allocatable, resolv_conf=self._resolv_conf(),
                                services=self._service_env())

    def _service_env(self) -> dict[str, str]:
        pod = self.pod or {}
        return service_env(self.ctx.services(), (pod.get("metadata") or {}).get("namespace", "default"),
                           (pod.get("spec") or {}).get("enableServiceLinks", True) is not False)

    async def _kill(self, a: p.KillContainer) -> None:
        messages = {
            "liveness": f"Container {a.name} failed liveness probe, will be restarted",
            "startup": f"Container {a.name} failed startup probe, will be restarted",
            "spec-changed": f"Container {a.name} definition changed, will be restarted",
        }
        self._cancel_probers(a.container_id)
        if self.pod is not None or self.last_pod is not None:
            await self._event(NORMAL, "Killing", messages.get(a.reason, f"Stopping container {a.name}"), a.name)
        grace = a.grace
        if a.pre_stop:
            started = time.monotonic()
            try:
                code, out = await self.ctx.runtime.exec_probe(a.container_id, list(a.pre_stop), grace)
            except Exception as e:  # noqa: BLE001 - a failing hook does not stop the kill
                code, out = -1, str(e).encode()
            if code != 0:
                await self._event(WARNING, "FailedPreStopHook",
                                  f"PreStopHook failed: {out.decode(errors='replace').strip()}", a.name)
            grace = max(grace - (time.monotonic() - started), p.MIN_GRACE_SECONDS)
        await self.ctx.runtime.stop_container(a.container_id, grace)
        state = await self.ctx.runtime.inspect_container(a.container_id)
        if state is None:
            self.containers.pop(a.container_id, None)
        else:
            self.containers[a.container_id] = state
        self.probes.unhealthy.pop(a.container_id, None)

    async def _finish(self, a: p.FinishPod) -> None:
        await cleanup_volumes(self.last_pod, self.uid, self.ctx.runtime, state_dir=self.ctx.state_dir,
                              cluster=self.ctx.cluster)
        self.sandbox = None
        if a.delete_object and self.pod is not None:
            md = self.pod["metadata"]
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                await self.ctx.client.delete(Kind.POD, md.get("namespace"), md["name"],
                                             {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
            log.info("pod/%s: terminated and deleted", self.key)
        self.done = True

    # ---- probes ---------------------------------------------------------------------------
    def _sync_probers(self) -> None:
        pod = self.pod
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp") or self._tg is None:
            self._stop_probers()
            return
        specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
        running = {cid: c for cid, c in self.containers.items() if c.status == "running" and c.name in specs}
        for (cid, kind), task in list(self._probers.items()):
            if cid not in running:
                task.cancel()
                del self._probers[(cid, kind)]
        for cid, c in running.items():
            spec = specs[c.name]
            for kind, field in (("startup", "startupProbe"), ("liveness", "livenessProbe"),
                                ("readiness", "readinessProbe")):
                probe = spec.get(field)
                if not probe or (cid, kind) in self._probers or cid in self.probes.unhealthy:
                    continue
                if kind == "startup" and self.probes.started.get(cid):
                    continue
                self._probers[(cid, kind)] = self._tg.create_task(
                    self._probe(cid, c.name, kind, probe, spec),  # type: ignore[arg-type]
                    name=f"probe-{kind}-{self.key}/{c.name}")

    async def _probe(self, cid: str, name: str, kind: ProbeKind, probe: Obj, spec: Obj) -> None:
        gate = None
        if kind != "startup" and spec.get("startupProbe"):
            def gate() -> bool:
                return self.probes.started.get(cid, False)

        async def attempt() -> Any:
            return await run_probe(probe, runtime=self.ctx.runtime, container_id=cid, container=spec,
                                   pod_ip=self.sandbox.ip if self.sandbox else "",
                                   simulated_network=self.ctx.runtime.simulated_network)

        def on_result(kind: ProbeKind, ok: bool | None, message: str) -> None:
            self._probe_result(cid, name, kind, ok, message)

        try:
            await Prober(kind, probe, attempt, self.ctx.clock, on_result, gate).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod/%s: %s probe of %s failed", self.key, kind, name)

    def _probe_result(self, cid: str, name: str, kind: ProbeKind, ok: bool | None, message: str) -> None:
        if ok is None:
            if self._tg is not None:
                self._tg.create_task(
                    self._event(WARNING, "Unhealthy", f"{kind.capitalize()} probe failed: {message}", name),
                    name=f"event-unhealthy-{self.key}/{name}")
            return
        if kind == "readiness":
            self.probes.ready[cid] = ok
        elif kind == "startup":
            if ok:
                self.probes.started[cid] = True
            else:
                self.probes.unhealthy[cid] = "startup"
        elif kind == "liveness" and not ok:
            self.probes.unhealthy[cid] = "liveness"
        self.wake()

    def _cancel_probers(self, cid: str) -> None:
        for key in [k for k in self._probers if k[0] == cid]:
            self._probers.pop(key).cancel()

    def _stop_probers(self) -> None:
        for task in self._probers.values():
            task.cancel()
        self._probers.clear()

    # ---- status and events ----------------------------------------------------------------
    async def _report_status(self) -> None:
        pod = self.pod
        assert pod is not None
        inputs = StatusInputs(waiting=dict(self.waiting), ready=dict(self.probes.ready),
                              started=dict(self.probes.started), runtime=self.ctx.runtime.name,
                              host_ip=self.ctx.host_ip)
        status = compute_pod_status(pod, self._observed(), inputs, self.ctx.clock.now())
        if status == pod.get("status"):
            return
        md = pod["metadata"]
        # First against the pod we hold (the informer's newest), guarded by its resourceVersion;
        # after a conflict, against a fresh read, as the kubelet's status manager does.
        current: Obj | None = pod
        for _attempt in range(5):
            if current is None:
                try:
                    current = await self.ctx.client.get(Kind.POD, md.get("namespace"), md["name"])
                except errors.NotFound:
                    return
                if current["metadata"].get("uid") != self.uid:
                    return
                status = compute_pod_status(current, self._observed(), inputs, self.ctx.clock.now())
                if status == current.get("status"):
                    return
            cmd = current["metadata"]
            # The status subresource takes only the status (and the resourceVersion to guard it).
            body = {"apiVersion": "v1", "kind": "Pod", "status": status,
                    "metadata": {"name": cmd["name"], "namespace": cmd.get("namespace"),
                                 "uid": cmd.get("uid"), "resourceVersion": cmd.get("resourceVersion")}}
            current = None
            try:
                updated = await self.ctx.client.update_status(Kind.POD, body)
            except errors.Conflict:
                continue
            except errors.NotFound:
                return
            if self.pod is not None and self.pod["metadata"].get("uid") == self.uid:
                self.pod = updated if _newer(updated, self.pod) else self.pod
            return

    async def _event(self, type_: str, reason: str, message: str, container: str = "") -> None:
        pod = self.pod or self.last_pod
        if pod is None:
            return
        await self.ctx.emit(pod, type_, reason, message, container)


def _os_error(e: OSError) -> str:
    """As Go words it: "open /etc/resolv.conf: no such file or directory"."""
    if e.filename is None or not e.strerror:
        return str(e)
    return f"open {e.filename}: {e.strerror[:1].lower()}{e.strerror[1:]}"


def _newer(a: Obj, b: Obj) -> bool:
    try:
        return int(a["metadata"]["resourceVersion"]) >= int(b["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return True
