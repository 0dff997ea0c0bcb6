"""The dev loop: apply the manifests at start, then again on every save (watchfiles).

Each pass re-reads the whole set, so that order and prune stay right, and sends only the
documents that changed (`apply.plan_changes`). Saves are grouped: watchfiles yields once no
change has come for `step` ms, and at the latest after `debounce` ms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import Change, awatch

from boxk8s.client import Client
from boxk8s.devloop.apply import AppliedState, Applier, ApplySetError, ReloadReport
from boxk8s.devloop.applyset import ApplySetParent
from boxk8s.devloop.manifests import DEFAULT_PATHS, Manifests, is_ignored, is_manifest_name, load_manifests

log = logging.getLogger(__name__)

# How long the watch thread waits before it reports "nothing yet": the first such report tells
# the loop the watcher is up (see `run`); later ones are ignored.
_WATCH_TIMEOUT_MS = 250


def log_report(report: ReloadReport) -> None:
    """The default `report`: each line to this module's logger (errors as warnings)."""
    for line in report.lines():
        log.log(logging.WARNING if line.startswith("error ") else logging.INFO, "%s", line)


class DevLoop:
    """Keeps the cluster converged to the manifest files under `paths`, as they are saved.

    `client` writes the members (its field manager should be `boxk8s`); the ApplySet parent is
    written through a client of the same resource layer as `boxk8s-applyset`. `project_name`
    names the ApplySet (`boxk8s-<project_name>`). `report` gets what each pass did.

    For tests and callers: `reloads` counts the passes done, `applied` is set after each one,
    `watching` once file changes are being watched, `wait_for_reload(after)` waits for a pass.
    """

    def __init__(self, client: Client, paths: Sequence[str | Path] = DEFAULT_PATHS, *, project_name: str,
                 debounce: float = 0.15, report: Callable[[ReloadReport], None] = log_report) -> None:
        self.paths = tuple(Path(p) for p in paths) or tuple(Path(p) for p in DEFAULT_PATHS)
        self.parent = ApplySetParent.for_project(project_name)
        self.applier = Applier(client, self.parent)
        self.debounce = debounce
        self.report = report
        self.state = AppliedState()
        self.reloads = 0
        self.last_report: ReloadReport | None = None
        self.last_manifests: Manifests | None = None
        self.applied = asyncio.Event()
        self.watching = asyncio.Event()
        self._passed = asyncio.Condition()
        self._one_pass = asyncio.Lock()  # a save and a newly served kind may ask for passes at once
        self.client = client
        self._kinds_changed = asyncio.Event()

    # -- running ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Rebuild the previous state from the cluster, apply everything, then follow the saves
        until cancelled."""
        try:
            self.state = await self.applier.observe_state()
        except ApplySetError as e:
            log.warning("%s", e)  # every pass reports it too, and writes nothing
        self.client.resources.kinds.on_change(self._kinds_changed.set)  # served kinds: custom resources too
        await self.reload(initial=True)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._follow_kinds(), name="devloop-kinds")
            await self._follow_files()

    async def _follow_kinds(self) -> None:
        """Documents waiting for their CRD (or refused for a kind not served) are applied once the
        cluster serves new kinds."""
        while True:
            await self._kinds_changed.wait()
            self._kinds_changed.clear()
            if self.last_manifests is not None and self.last_manifests.wants_kinds:
                await self.reload()

    async def _follow_files(self) -> None:
        debounce_ms = max(int(self.debounce * 1000), 1)
        step_ms = max(min(50, debounce_ms // 3), 1)
        while True:
            roots = self._roots()
            first = True
            async for changes in awatch(*roots, watch_filter=self._relevant, debounce=debounce_ms, step=step_ms,
                                        rust_timeout=_WATCH_TIMEOUT_MS, yield_on_timeout=True):
                if first:
                    # The watcher is up: a save between the first read and now is caught here.
                    first = False
                    self.watching.set()
                    await self.reload(quiet=True)
                elif changes:
                    log.debug("manifest changes: %s", sorted(p for _, p in changes))
                    await self.reload()
                if self._roots() != roots:
                    break  # a watched folder appeared or went away: watch the new set

    async def reload(self, *, initial: bool = False, quiet: bool = False) -> ReloadReport:
        """One pass over every manifest file: apply what changed, prune what went away. `quiet`:
        say nothing if the pass wrote nothing and found the same errors as the one before."""
        async with self._one_pass:
            manifests = await asyncio.to_thread(load_manifests, self.paths,
                                                 self.client.resources.kinds.by_kind)
            self.state, report = await self.applier.reconcile(self.state, manifests, initial=initial)
            self.last_manifests = manifests
        previous, self.last_report = self.last_report, report
        self.reloads += 1
        if not (quiet and previous is not None and _same_news(previous, report)):
            self.report(report)
        self.applied.set()
        async with self._passed:
            self._passed.notify_all()
        return report

    async def wait_for_reload(self, after: int) -> ReloadReport:
        """Wait until more than `after` passes are done; the last one's report."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.reloads > after)
        assert self.last_report is not None
        return self.last_report

    # -- what to watch ------------------------------------------------------------------------
    def _roots(self) -> list[Path]:
        """Folders to watch: each manifest folder; for a file, its folder (an editor's save by
        rename replaces the file a watch would be on); for a path not there yet, the nearest
        folder above it that is."""
        roots: list[Path] = []
        for p in self.paths:
            p = p.absolute()
            root = p if p.is_dir() else p.parent
            while not root.is_dir() and root != root.parent:
                root = root.parent
            roots.append(root)
        unique = sorted(set(roots), key=lambda r: len(r.parts))
        return [r for r in unique if not any(o != r and o in r.parents for o in unique)]

    def _relevant(self, _change: Change, raw: str) -> bool:
        """watchfiles' filter: changes to manifests (and folders) under the paths, not to editor
        scratch files or anything in `.git` or another hidden folder."""
        path = Path(raw)
        for p in self.paths:
            p = p.absolute()
            if path == p or path in p.parents:  # the path itself, or a folder on the way to it
                return True
            if p in path.parents:
                if is_ignored(path, p):
                    return False
                return is_manifest_name(path.name) or "." not in path.name  # a file we read, or a folder
        return False


def _same_news(before: ReloadReport, after: ReloadReport) -> bool:
    """`after` wrote nothing and says what `before` said about errors."""
    def problems(r: ReloadReport) -> list[str]:
        return [line for line in r.lines() if line.startswith("error ")]
    wrote = any(f.applied or f.pruned for f in after.files)
    return not wrote and problems(before) == problems(after)
