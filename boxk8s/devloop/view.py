"""The live status view of `boxk8s up` in the foreground (rich), or plain timestamped lines in CI.

It is fed by the shared informers (a change marks it dirty; it redraws at most a few times a
second), so it never polls and never looks frozen while images start: a pod that is not ready
shows why (ContainerCreating, CrashLoopBackOff, ImagePullBackOff, a failing probe…). The dev loop
tells it each reload's outcome per file. When stdout is not a terminal, each change of a
workload's state and each reload is one line with the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, TextIO

from boxk8s.client import InformerFactory, Kind
from boxk8s.devloop.readiness import WorkloadState, plan_readiness
from boxk8s.devloop.wait import SYSTEM_NAMESPACES, app_workloads, workload_informers

REDRAW_SECONDS = 0.25
RELOADS_SHOWN = 5

Obj = dict[str, Any]


def pod_problem(pod: Obj) -> str:
    """Why a pod is not ready, in kubectl's words (its STATUS column's reason), "" when it is."""
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if (conditions.get("Ready") or {}).get("status") == "True":
        return ""
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        return str(scheduled.get("reason") or "Pending")
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = cs.get("state") or {}
        if "waiting" in state:
            return str(state["waiting"].get("reason") or "Waiting")
        if "terminated" in state and not cs.get("ready"):
            return str(state["terminated"].get("reason") or "Terminated")
        if "running" in state and not cs.get("ready"):
            return "Running, not ready (probe)"
    return str(status.get("phase") or "Pending")


class StatusView:
    def __init__(self, factory: InformerFactory, out: TextIO, *, urls: Sequence[str] = (),
                 live: bool | None = None) -> None:
        self.factory = factory
        self.out = out
        self.urls = list(urls)
        self.live = out.isatty() if live is None else live
        self.informers = workload_informers(factory)
        assert Kind.INGRESS and Kind.SERVICE
        self.ingresses = factory.informer(Kind.INGRESS)
        self.services = factory.informer(Kind.SERVICE)
        self.ingresses.add_handler(lambda *_: self.dirty.set())
        self.ingress_port = 0  # set once the Ingress proxy listens
        self.host = "127.0.0.1"
        self.dirty = asyncio.Event()
        for informer in self.informers.values():
            informer.add_handler(lambda *_: self.dirty.set())
        self.reloads: list[str] = []
        self._last: dict[tuple[str, str, str], str] = {}  # what the plain view last said of each workload
        self._urls = ""

    def open_urls(self) -> list[str]:
        """What to open: each Ingress host at the proxy's port, then each NodePort on the host."""
        urls = list(self.urls)
        if self.ingress_port:
            for ing in self.ingresses.list():
                for rule in (ing.get("spec") or {}).get("rules") or []:
                    host = str(rule.get("host") or self.host).replace("*.", "x.")
                    paths = ((rule.get("http") or {}).get("paths") or [{}])
                    url = f"http://{host}:{self.ingress_port}{paths[0].get('path') or '/'}"
                    if url not in urls:
                        urls.append(url)
        for svc in self.services.list():
            for port in (svc.get("spec") or {}).get("ports") or []:
                if port.get("nodePort"):
                    urls.append(f"{svc['metadata']['name']}: {self.host}:{port['nodePort']}")
        return urls

    def reload(self, line: str) -> None:
        """One reload's outcome (from the dev loop)."""
        self.reloads = [*self.reloads, line][-RELOADS_SHOWN:]
        if not self.live:
            self._line(line)
        self.dirty.set()

    def states(self) -> tuple[list[WorkloadState], dict[tuple[str, str], str]]:
        workloads = app_workloads(self.informers)
        pods = self.informers["Pod"].list()
        problems = {((p.get("metadata") or {}).get("namespace", ""), p["metadata"]["name"]): pod_problem(p)
                    for p in pods if (p.get("metadata") or {}).get("namespace") not in SYSTEM_NAMESPACES}
        return plan_readiness(workloads, pods).states, {k: v for k, v in problems.items() if v}

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:  # a view that breaks must not stop the cluster it shows
            logging.getLogger(__name__).exception("the status view stopped")

    async def _run(self) -> None:
        await self.factory.wait_synced()
        if self.live:
            await self._run_live()
        else:
            while True:
                self.dirty.clear()
                self._plain()
                await self.dirty.wait()
                await asyncio.sleep(REDRAW_SECONDS)

    def _plain(self) -> None:
        states, _ = self.states()
        seen = set()
        for s in states:
            key = (s.kind, s.namespace, s.name)
            seen.add(key)
            text = f"{s.kind.lower()}/{s.name} -n {s.namespace}: {s.progress}" + (" (ready)" if s.ready else "")
            if self._last.get(key) != text:
                self._last[key] = text
                self._line(text)
        for key in set(self._last) - seen:
            del self._last[key]
            self._line(f"{key[0].lower()}/{key[2]} -n {key[1]}: gone")
        urls = "  ".join(self.open_urls())
        if urls and urls != self._urls:
            self._urls = urls
            self._line(f"open: {urls}")

    def _line(self, text: str) -> None:
        self.out.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.out.flush()

    async def _run_live(self) -> None:
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(file=self.out)
        # Log lines go above the view instead of through it: the root logger's stream handlers
        # write through the same console while the view is up.
        root = logging.getLogger()
        streams = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
        rich_handler = RichHandler(console=console, show_path=False, level=min((h.level for h in streams), default=0))
        for h in streams:
            root.removeHandler(h)
        root.addHandler(rich_handler)
        try:
            await self._live(console)
        finally:
            root.removeHandler(rich_handler)
            for h in streams:
                root.addHandler(h)

    async def _live(self, console: Any) -> None:
        from rich.live import Live

        with Live(self._render(), console=console, refresh_per_second=4, transient=False) as live:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):  # ages and spinners move even when nothing changes
                        await self.dirty.wait()
                self.dirty.clear()
                live.update(self._render())
                await asyncio.sleep(REDRAW_SECONDS)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        states, problems = self.states()
        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("NAMESPACE", "WORKLOAD", "READY", "WAITING ON"):
            table.add_column(column)
        for s in sorted(states, key=lambda s: (s.namespace, s.kind, s.name)):
            waiting = sorted({f"{pod}: {why}" for (ns, pod), why in problems.items()
                              if ns == s.namespace and pod.startswith(s.name)}) if not s.ready else []
            style = "green" if s.ready else ("red" if s.failed else "yellow")
            table.add_row(s.namespace, f"{s.kind.lower()}/{s.name}", Text(s.progress, style=style),
                          "\n".join(waiting[:3]) + (" …" if len(waiting) > 3 else ""))
        parts: list[Any] = [table if states else Text("no workloads yet", style="dim")]
        if self.reloads:
            parts.append(Text("\n".join(self.reloads), style="cyan"))
        urls = self.open_urls()
        if urls:
            parts.append(Text("open: " + "  ".join(urls), style="bold"))
        return Group(*parts)
