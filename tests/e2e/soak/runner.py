"""The crash soak: `boxk8s up` under load, `kill -9` at a random moment, checks on the dead
process's files, start again in the same state folder, checks on the living one; N rounds.

Used by scripts/soak_crash.py (many rounds) and tests/e2e/test_soak_crash.py (a few).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s
from tests.e2e.docker_cleanup import LABEL_CLUSTER, free_subnet, remove_cluster_objects
from tests.e2e.soak.clients import (
    DEPLOYMENT,
    MERGE,
    PODS_PATH,
    Api,
    Model,
    Watcher,
    churner,
    writer,
)
from tests.e2e.soak.model import (
    KINDS,
    NAMESPACE,
    TRACKED,
    Container,
    PodView,
    Row,
    Tally,
    check_not_restarted,
    check_rows,
    check_state,
    check_watch,
    plan_containers,
    resolve_unknown,
    state_of,
)

IMAGE = "boxk8s-busybox:latest"
TRAP = 'trap "exit 0" TERM; while true; do sleep 1; done'
POD_CONTAINERS = {"POD", "app", "side"}  # two app containers joined to a sandbox
BARRIER = "soak-barrier"
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"


@dataclass(frozen=True)
class SoakSettings:
    workdir: Path
    rounds: int = 3
    clients: int = 6  # concurrent writers
    objects: int = 3  # objects of each kind per writer
    load_min: float = 0.5  # the kill comes this many seconds after the load starts, at least
    load_max: float = 3.0
    converge_timeout: float = 60.0
    early_kills: float = 0.25  # the share of rounds killed a second time while starting up again
    seed: int | None = None


def deployment() -> dict[str, Any]:
    container = {"image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", TRAP]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE},
        "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": DEPLOYMENT}},
            "template": {"metadata": {"labels": {"app": DEPLOYMENT}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "app", **container}, {"name": "side", **container}]}},
        },
    }


# -- Docker and the database file, read from outside the process ---------------------------------

def docker_containers(cluster: str) -> list[Container]:
    ids = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label={LABEL_CLUSTER}={cluster}"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
    if not ids:
        return []
    fmt = "{{.Id}}\t{{.State.Status}}\t{{.State.StartedAt}}\t{{json .Config.Labels}}"
    out = subprocess.run(["docker", "inspect", "--format", fmt, *ids],  # one may be gone meanwhile: no check
                         capture_output=True, text=True, timeout=60).stdout
    found = []
    for line in out.splitlines():
        cid, status, started, labels = line.split("\t", 3)
        lab = json.loads(labels) or {}
        found.append(Container(cid, lab.get("io.kubernetes.pod.uid", ""), lab.get("io.kubernetes.container.name", ""),
                               status, started))
    return found


def read_db(path: Path) -> tuple[str, dict[int, Row], int]:
    """integrity_check, the rows of the soak's namespace, the compaction point: read-only, so a
    dead process's files are looked at as they are (SQLite replays the WAL for the reader)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        rows: dict[int, Row] = {}
        for kind in KINDS.values():
            lo = kind.key_prefix
            hi = lo[:-1] + chr(ord("/") + 1)
            for id_, name, created, deleted in conn.execute(
                    "SELECT id, name, created, deleted FROM kine WHERE name >= ? AND name < ?", (lo, hi)):
                rows[id_] = Row(id_, name, bool(created), bool(deleted))
        compacted = conn.execute("SELECT value FROM kine_meta WHERE name = 'compact_revision'").fetchone()
        return integrity, rows, int(compacted[0]) if compacted else 0
    finally:
        conn.close()


def pod_views(pods: dict[str, Any]) -> list[PodView]:
    views = []
    for p in pods.get("items", []):
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        containers = {s["name"]: ((s.get("containerID") or "").split("://")[-1], int(s.get("restartCount") or 0))
                      for s in statuses}
        ready = p["status"].get("phase") == "Running" and len(statuses) == 2 and all(s.get("ready") for s in statuses)
        views.append(PodView(p["metadata"]["uid"], p["metadata"]["name"], containers, ready,
                             bool(p["metadata"].get("deletionTimestamp"))))
    return views


# -- the soak -------------------------------------------------------------------------------------

class Soak:
    def __init__(self, settings: SoakSettings) -> None:
        self.s = settings
        self.rng = random.Random(settings.seed)
        self.state_dir = settings.workdir / "state"
        self.cluster = f"soak-{uuid.uuid4().hex[:8]}"
        self.subnet = ""
        self.box: Boxk8s | None = None
        self.model = Model()
        self.watcher: Watcher | None = None
        self.watch_checked = 0  # revisions up to here were compared with the watcher's events
        self.watch_index = 0  # events before this index were compared
        self.log_offset = 0

    async def run(self, on_round: Callable[[Tally], None] | None = None) -> list[Tally]:
        self.s.workdir.mkdir(parents=True, exist_ok=True)
        self.subnet = free_subnet()
        tallies: list[Tally] = []
        watch_task: asyncio.Task[None] | None = None
        try:
            self.box = await asyncio.to_thread(start_boxk8s, self.state_dir, cluster_name=self.cluster,
                                               pod_subnet=self.subnet)
            since = await self._set_up()
            self.watcher = Watcher(self.box.kubeconfig, since)
            self.watch_checked = since
            watch_task = asyncio.create_task(self.watcher.run(), name="soak-watcher")
            for r in range(self.s.rounds):
                tally = await self._round(r)
                tallies.append(tally)
                if on_round is not None:
                    on_round(tally)
        finally:
            if watch_task is not None:
                watch_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch_task
            if self.box is not None:
                code = await asyncio.to_thread(stop_boxk8s, self.box)
                if code != 0 and tallies:
                    tallies[-1].problems.append(f"boxk8s did not stop cleanly at the end ({code})")
            await asyncio.to_thread(remove_cluster_objects, self.cluster)
        return tallies

    async def _set_up(self) -> int:
        assert self.box is not None
        api = Api(self.box.kubeconfig)
        try:
            await api.get_ok("/api/v1/namespaces")
            for path, body in (("/api/v1/namespaces", {"metadata": {"name": NAMESPACE}}),
                               (DEPLOYMENT_PATH, deployment()),
                               (KINDS["configmaps"].path(), {"metadata": {"name": BARRIER}, "data": {"round": "-1"}})):
                reply = await api.call("POST", path, body)
                assert reply.status == 201, (path, reply)
            problems = await self._converge(api, Tally(-1))
            assert not problems, problems
            return int((await api.get_ok(KINDS["configmaps"].path()))["metadata"]["resourceVersion"])
        finally:
            await api.close()

    async def _round(self, r: int) -> Tally:
        assert self.box is not None and self.watcher is not None
        tally = Tally(r, kill_after=round(self.rng.uniform(self.s.load_min, self.s.load_max), 2))
        rng = random.Random(self.rng.random())
        api = Api(self.box.kubeconfig)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer(api, self.model, i, random.Random(rng.random()), stop, tally, r,
                                            self.s.objects), name=f"soak-writer-{i}")
                 for i in range(self.s.clients)]
        tasks.append(asyncio.create_task(churner(api, self.model, random.Random(rng.random()), stop, tally),
                                         name="soak-churner"))
        await asyncio.sleep(tally.kill_after)  # the random moment of the kill
        self.box.proc.kill()
        await asyncio.to_thread(self.box.proc.wait)
        stop.set()
        await asyncio.gather(*tasks)
        await api.close()

        at_kill = await self._check_dead(tally)
        if self.rng.random() < self.s.early_kills:  # once more, while it starts and adopts
            await self._start()
            tally.early_kill_after = round(self.rng.uniform(0.0, 1.5), 2)
            await asyncio.sleep(tally.early_kill_after)
            self.box.proc.kill()
            await asyncio.to_thread(self.box.proc.wait)
            at_kill = {k: c for k, c in (await self._check_dead(tally)).items() if k in at_kill}

        started = time.monotonic()
        await self._start()
        api = Api(self.box.kubeconfig)
        try:
            observed = await self._observe(api)
            tally.restart_seconds = round(time.monotonic() - started, 2)
            self._resolve(observed, tally)
            self._write_journal()
            tally.problems += check_state(self.model.tracked(), observed)
            self.model.states = dict(observed)  # carry on from what is there, whatever was found
            await self._check_replicas(api, tally)
            started = time.monotonic()
            tally.problems += await self._converge(api, tally)
            tally.converge_seconds = round(time.monotonic() - started, 2)
            pods = pod_views(await api.get_ok(PODS_PATH))
            now = await asyncio.to_thread(docker_containers, self.cluster)
            tally.problems += check_not_restarted(at_kill, pods, now)
            uids = {p.uid for p in pods}
            tally.containers_kept = sum(1 for (uid, _), c in at_kill.items() if uid in uids
                                       and any(n.id == c.id for n in now))
            await self._check_watch(api, tally)
        finally:
            await api.close()
        tally.problems += self._log_errors()
        return tally

    async def _check_dead(self, tally: Tally) -> dict[tuple[str, str], Container]:
        """With the process dead: the database file as the kill left it, and what runs in Docker."""
        assert self.box is not None
        integrity, rows, compacted = await asyncio.to_thread(read_db, self.state_dir / "state.db")
        if integrity != "ok":
            tally.problems.append(f"PRAGMA integrity_check: {integrity}")
        tally.problems += check_rows(self.model.acked, rows, compacted)
        return {(c.pod_uid, c.name): c for c in await asyncio.to_thread(docker_containers, self.cluster)
                if c.pod_uid and c.status == "running"}

    async def _start(self) -> None:
        """`boxk8s up` again in the same state folder, on the same port."""
        assert self.box is not None
        self.box = await asyncio.to_thread(start_boxk8s, self.state_dir, port=self.box.port,
                                           cluster_name=self.cluster, pod_subnet=self.subnet)

    async def _observe(self, api: Api) -> dict[tuple[str, str], Any]:
        observed = {}
        for plural in KINDS:
            for obj in (await api.get_ok(KINDS[plural].path()))["items"]:
                if obj["metadata"]["name"].startswith(TRACKED):
                    observed[(plural, obj["metadata"]["name"])] = state_of(plural, obj)
        return observed

    def _resolve(self, observed: dict[tuple[str, str], Any], tally: Tally) -> None:
        for key, op in self.model.pending.items():
            verdict, problem = resolve_unknown(op, observed.get(key))
            op.resolved = verdict
            if problem:
                tally.problems.append(problem)
            elif verdict == "applied":
                tally.applied += 1
                self.model.states[key] = observed.get(key)
                if key in observed:
                    self.model.acked.append((KINDS[key[0]].key(key[1]), observed[key].rv, False))
        self.model.pending.clear()

    def _write_journal(self) -> None:
        """The round's writes (without their bodies) to ops.jsonl: what to read when a check fails."""
        with open(self.s.workdir / "ops.jsonl", "a") as f:
            for op in self.model.journal:
                f.write(json.dumps({"round": op.round, "client": op.client, "kind": op.kind, "name": op.name,
                                    "verb": op.verb, "before": op.before and op.before.rv, "outcome": op.outcome,
                                    "status": op.status, "rv": op.rv, "resolved": op.resolved}) + "\n")
        self.model.journal.clear()

    async def _check_replicas(self, api: Api, tally: Tally) -> None:
        dep = await api.get_ok(f"{DEPLOYMENT_PATH}/{DEPLOYMENT}")
        replicas = dep["spec"]["replicas"]
        allowed = {self.model.replicas, self.model.replicas_pending}
        if replicas not in allowed:
            tally.problems.append(f"deployment replicas {replicas}, want one of {sorted(a for a in allowed if a)}")
        self.model.replicas, self.model.replicas_pending = replicas, None

    async def _converge(self, api: Api, tally: Tally) -> list[str]:
        """Wait until the Deployment's pods all run, each with exactly its containers in Docker,
        and nothing else of the cluster's runs; the problems left at the deadline otherwise."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.s.converge_timeout
        while True:
            problems = await self._not_converged(api)
            if not problems or loop.time() > end:
                return [f"not converged in {self.s.converge_timeout:.0f} s: {p}" for p in problems]
            await asyncio.sleep(0.3)  # polling Docker and the API

    async def _not_converged(self, api: Api) -> list[str]:
        dep = await api.get_ok(f"{DEPLOYMENT_PATH}/{DEPLOYMENT}")
        want = dep["spec"]["replicas"]
        st = dep.get("status") or {}
        problems = []
        if (st.get("replicas"), st.get("readyReplicas"), st.get("updatedReplicas")) != (want, want, want):
            problems.append(f"deployment status {st.get('replicas')}/{st.get('readyReplicas')}"
                            f"/{st.get('updatedReplicas')} for {want} replicas")
        pods = pod_views(await api.get_ok(PODS_PATH))
        if len(pods) != want or not all(p.ready and not p.terminating for p in pods):
            problems.append(f"pods {[(p.name, p.ready, p.terminating) for p in pods]} for {want} replicas")
        containers = await asyncio.to_thread(docker_containers, self.cluster)
        return problems + plan_containers(pods, containers, POD_CONTAINERS)

    async def _check_watch(self, api: Api, tally: Tally) -> None:
        """Write a barrier, wait until the watcher has it, then compare the events it saw since the
        last check with the table's rows of the same revisions."""
        assert self.watcher is not None
        w = self.watcher
        reply = await api.call("PATCH", f"{KINDS['configmaps'].path(BARRIER)}", {"data": {"round": str(tally.round)}},
                               MERGE)
        assert reply.status == 200, reply
        barrier = int(reply.body["metadata"]["resourceVersion"])
        if not await w.wait_past(barrier, 30.0):
            tally.problems.append(f"watcher did not reach revision {barrier} (at {w.last}); errors {w.errors[-3:]}")
            return
        new = w.events[self.watch_index:]
        window = [e for e in new if e[0] <= barrier]
        self.watch_index += len(window)
        old = [e for e in window if e[0] <= self.watch_checked]
        if old:
            tally.problems.append(f"watch replayed {len(old)} events already seen: {old[:5]}")
        _, rows, _ = await asyncio.to_thread(read_db, self.state_dir / "state.db")
        prefix = KINDS["configmaps"].key_prefix
        want = [row for rid, row in sorted(rows.items())
                if self.watch_checked < rid <= barrier and row.name.startswith(prefix)]
        tally.problems += check_watch([e for e in window if e[0] > self.watch_checked], want)
        tally.watch_events = len(window)
        self.watch_checked = barrier
        if w.expired:
            tally.problems.append(f"watch got 410 Gone: {w.expired}")
            w.expired.clear()
        if w.errors:
            tally.problems.append(f"watch errors: {w.errors[:3]}")
            w.errors.clear()

    def _log_errors(self) -> list[str]:
        """Tracebacks boxk8s logged since the last round."""
        assert self.box is not None
        raw = self.box.log_path.read_bytes()[self.log_offset:]
        self.log_offset += len(raw)
        lines = raw.decode(errors="replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), i)
                found.append(f"boxk8s logged: {lines[i - 1][:200] if i else ''} / {lines[end][:200]}")
        return found[:5]
