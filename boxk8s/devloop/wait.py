"""`boxk8s up --wait`: wait until the app is ready, or say why it cannot be.

Readiness is read from the shared informers' caches (`readiness.plan_readiness`), again each time
one of them changes. On a failure — or at the timeout — the report names each failing pod with
its reason, its last events and the last 20 lines of its log, as a developer would look them up
with `kubectl describe` and `kubectl logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Informer, InformerFactory, Kind
from boxk8s.client.podstreams import LogOptions, PodStreams
from boxk8s.devloop.readiness import PodFailure, Readiness, WorkloadState, plan_readiness

LOG_LINES = 20
SETTLE = 1.0  # seconds the app must stay ready before --wait says it is
EVENTS_SHOWN = 5
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")

Key = tuple[str, str, str]  # kind, namespace, name


def workload_informers(factory: InformerFactory) -> dict[str, Informer]:
    """The shared informers of the kinds `readiness` reads, by kind (the waiter's and the view's)."""
    kinds = {"Deployment": Kind.DEPLOYMENT, "StatefulSet": Kind.STATEFULSET, "DaemonSet": Kind.DAEMONSET,
             "Job": Kind.JOB, "Pod": Kind.POD}
    return {kind: factory.informer(rt) for kind, rt in kinds.items() if rt is not None}


def app_workloads(informers: dict[str, Informer]) -> list[dict[str, Any]]:
    """The user's workloads: every one outside the system namespaces, bare pods but not owned ones."""
    return [o for kind, inf in informers.items() for o in inf.list()
            if (o.get("metadata") or {}).get("namespace") not in SYSTEM_NAMESPACES
            and not (kind == "Pod" and (o.get("metadata") or {}).get("ownerReferences"))]


@dataclass(frozen=True)
class WaitResult:
    ok: bool
    text: str


class AppWaiter:
    """Waits on the workloads `keys()` names (all workloads outside the system namespaces when None)."""

    def __init__(self, client: Client, factory: InformerFactory, streams: PodStreams | None,
                 keys: Callable[[], Iterable[Key]] | None = None) -> None:
        self.client = client
        self.factory = factory
        self.streams = streams
        self.keys = keys
        self.informers = workload_informers(factory)
        self.changed = asyncio.Event()
        for informer in self.informers.values():
            informer.add_handler(lambda *_: self.changed.set())

    def workloads(self) -> list[dict[str, Any]]:
        if self.keys is None:
            return app_workloads(self.informers)
        wanted = list(self.keys())
        return [obj for kind, ns, name in wanted if kind in self.informers
                for obj in [self.informers[kind].get(f"{ns}/{name}")] if obj is not None]

    def readiness(self) -> Readiness:
        return plan_readiness(self.workloads(), self.informers["Pod"].list())

    async def wait(self, timeout: float) -> WaitResult:
        """Ready once every workload has been ready for SETTLE seconds on end: a container that
        crashes at once is Running (and, with no probe, Ready) for a moment first."""
        await self.factory.wait_synced()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ready_since: float | None = None
        while True:
            self.changed.clear()
            state = self.readiness()
            now = loop.time()
            if state.failed:
                return WaitResult(False, await self.report(state.failed, "cannot become ready"))
            if state.ready:
                ready_since = now if ready_since is None else ready_since
                if now - ready_since >= SETTLE:
                    return WaitResult(True, f"ready: {_summary(state.states)}")
            else:
                ready_since = None
            remaining = deadline - now
            if remaining <= 0:
                waiting = [s for s in state.states if not s.ready]
                return WaitResult(False, await self.report(waiting, f"not ready after {timeout:g}s"))
            pause = min(remaining, 1.0)  # pod states age (crash counts): look again
            if ready_since is not None:
                pause = min(pause, max(ready_since + SETTLE - now, 0.01))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self.changed.wait()

    async def report(self, states: list[WorkloadState], headline: str) -> str:
        lines = [f"{len(states)} workload{'s' if len(states) != 1 else ''} {headline}:"]
        for s in states:
            lines.append(f"  {s.kind.lower()}/{s.name} -n {s.namespace}: {s.progress}"
                         + (f" ({s.failed_reason})" if s.failed_reason else ""))
            for failure in s.failures:
                lines.extend(await self._describe(failure))
        return "\n".join(lines)

    async def _describe(self, f: PodFailure) -> list[str]:
        where = f"pod/{f.pod}" + (f" container {f.container}" if f.container else "")
        out = [f"    {where}: {f.reason}" + (f": {f.message}" if f.message else "")]
        assert Kind.EVENT
        with contextlib.suppress(errors.ApiError):
            events = await self.client.list(Kind.EVENT, f.namespace)
            mine = [e for e in events if (e.get("involvedObject") or {}).get("name") == f.pod]
            mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
            if mine:
                out.append("      events:")
                out.extend(f"        {e.get('type', '')} {e.get('reason', '')}: {e.get('message', '')}"
                           for e in mine[-EVENTS_SHOWN:])
        pod = self.informers["Pod"].get(f"{f.namespace}/{f.pod}")
        if self.streams is not None and pod is not None and f.container:
            text = await self._log_tail(pod, f.container)
            if text:
                out.append(f"      last {LOG_LINES} log lines:")
                out.extend(f"        {line}" for line in text)
        return out

    async def _log_tail(self, pod: dict[str, Any], container: str) -> list[str]:
        assert self.streams is not None
        chunks: list[bytes] = []
        for previous in (False, True):  # a crash-looping container's last words are in its previous run
            chunks.clear()
            with contextlib.suppress(errors.ApiError, OSError):
                async with asyncio.timeout(5):
                    async for chunk in self.streams.logs(pod, LogOptions(container=container, previous=previous,
                                                                         tail_lines=LOG_LINES)):
                        chunks.append(chunk)
            if b"".join(chunks).strip():
                break
        return b"".join(chunks).decode(errors="replace").splitlines()[-LOG_LINES:]


def _summary(states: list[WorkloadState]) -> str:
    if not states:
        return "no workloads"
    ordered = sorted(states, key=lambda s: (s.namespace, s.kind, s.name))
    return ", ".join(f"{s.kind.lower()}/{s.name} {s.progress}" for s in ordered)
