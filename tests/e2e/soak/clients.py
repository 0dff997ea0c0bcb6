"""The soak's clients over real HTTP with the kubeconfig's token: writers, a churner of the
Deployment's pods, and a watcher that resumes from its last resourceVersion across restarts."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.e2e.soak.model import (
    BAD_STATUS,
    KINDS,
    NAMESPACE,
    TRACKED,
    Op,
    State,
    Tally,
    plan_op,
    state_of,
)

log = logging.getLogger(__name__)

JSON = "application/json"
MERGE = "application/merge-patch+json"
DEPLOYMENT = "soak-web"
SCALE_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}/scale"
PODS_PATH = f"/api/v1/namespaces/{NAMESPACE}/pods"


class Unsent(Exception):
    """The connection was refused: the request never reached the server."""


class NoAnswer(Exception):
    """Sent (or maybe sent) but no status came back: the write may or may not have happened."""


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


def _credentials(kubeconfig: Path) -> tuple[str, ssl.SSLContext, str]:
    cfg = yaml.safe_load(kubeconfig.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    return cluster["server"], ssl.create_default_context(cadata=ca), cfg["users"][0]["user"]["token"]


class Api:
    """One aiohttp session to the API (a new one per process lifetime: a killed server leaves
    its pooled connections dead)."""

    def __init__(self, kubeconfig: Path, *, timeout: float | None = 30.0) -> None:
        self.base, self._ssl, token = _credentials(kubeconfig)
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            connector=aiohttp.TCPConnector(ssl=self._ssl),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def close(self) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, body: Any = None, content_type: str = JSON) -> Reply:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else {}
        try:
            async with self.session.request(method, self.base + path, data=data, headers=headers) as resp:
                raw = await resp.read()
                return Reply(resp.status, json.loads(raw) if raw else {})
        except aiohttp.ClientConnectorError as exc:
            # aiohttp retries an idempotent method (PUT, DELETE) once on a new connection when the
            # first one broke (client.py, RFC 9112 §9.3.1): a refused retry may follow a first
            # attempt that the server committed before it died, so only POST and PATCH are "unsent".
            if method in ("POST", "PATCH"):
                raise Unsent(str(exc)) from exc
            raise NoAnswer(repr(exc)) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NoAnswer(repr(exc)) from exc

    async def get_ok(self, path: str, deadline: float = 30.0) -> dict[str, Any]:
        """GET (idempotent: retried while the server comes up) that must answer 200."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            try:
                reply = await self.call("GET", path)
                if reply.status == 200:
                    return reply.body
                raise AssertionError(f"GET {path}: {reply.status} {reply.body}")
            except (Unsent, NoAnswer):
                if loop.time() > end:
                    raise
                await asyncio.sleep(0.1)


@dataclass
class Model:
    """What the writers know: each object's state, the unanswered write per object, every
    acknowledged write (for the table check), and the Deployment's replicas."""

    states: dict[tuple[str, str], State | None] = field(default_factory=dict)
    pending: dict[tuple[str, str], Op] = field(default_factory=dict)
    acked: list[tuple[str, int, bool]] = field(default_factory=list)  # (store key, revision, is-delete)
    replicas: int = 2
    replicas_pending: int | None = None
    seq: int = 0
    journal: list[Op] = field(default_factory=list)  # this round's writes, for ops.jsonl

    def tracked(self) -> dict[tuple[str, str], State | None]:
        return {k: v for k, v in self.states.items() if v is not None}


async def send(api: Api, op: Op) -> Reply:
    kind = KINDS[op.kind]
    if op.verb in ("create", "bad-create"):
        return await api.call("POST", kind.path(), op.body)
    if op.verb in ("update", "stale-update", "invalid-update"):
        return await api.call("PUT", kind.path(op.name), op.body)
    if op.verb == "patch":
        return await api.call("PATCH", kind.path(op.name), op.body, MERGE)
    return await api.call("DELETE", kind.path(op.name))


def record(model: Model, op: Op, reply: Reply, tally: Tally) -> None:
    """Take an answered write into the model; a wrong answer is a problem."""
    key = (op.kind, op.name)
    op.status = reply.status
    expected_bad = BAD_STATUS.get(op.verb)
    ok = 200 <= reply.status < 300
    if expected_bad is not None:
        if reply.status == expected_bad:
            op.outcome = "rejected"
            tally.rejected += 1
            return
        tally.problems.append(f"{op.kind}/{op.name}: {op.verb} answered {reply.status}, want {expected_bad}")
    elif not ok:
        if reply.status == 429:  # not processed, by contract (max-in-flight)
            op.outcome = "rejected"
            return
        tally.problems.append(f"{op.kind}/{op.name}: {op.verb} answered {reply.status}: {reply.body.get('message')}")
        if reply.status >= 500:  # may have happened: resolve after the restart like an unanswered write
            op.outcome = "unknown"
            model.pending[key] = op
        return
    if not ok:
        return
    op.outcome = "acked"
    tally.acked += 1
    meta = reply.body.get("metadata") or {}
    op.rv = int(meta.get("resourceVersion") or 0)
    if op.verb in ("delete", "bad-delete"):
        model.states[key] = None
        if op.rv and reply.body.get("kind") != "Status":
            model.acked.append((KINDS[op.kind].key(op.name), op.rv, True))
        return
    state = state_of(op.kind, reply.body)
    if op.intended is not None and state.content != op.intended:
        tally.problems.append(f"{op.kind}/{op.name}: {op.verb} answered {state.content} for {op.intended}")
    model.states[key] = state
    model.acked.append((KINDS[op.kind].key(op.name), state.rv, False))


async def writer(api: Api, model: Model, client: int, rng: random.Random, stop: asyncio.Event,
                 tally: Tally, round_: int, objects: int) -> None:
    """Writes as fast as answers come, to its own objects, until stopped or the server is gone."""
    names = [(kind, f"{TRACKED}{client}-{kind[:2]}{j}") for kind in KINDS for j in range(objects)]
    while not stop.is_set():
        kind, name = rng.choice(names)
        model.seq += 1
        op = plan_op(kind, name, model.states.get((kind, name)), client, model.seq, rng, round_)
        model.journal.append(op)
        try:
            reply = await send(api, op)
        except Unsent:
            op.outcome = "unsent"
            tally.unsent += 1
            return
        except NoAnswer:
            op.outcome = "unknown"
            model.pending[(kind, name)] = op
            tally.unanswered += 1
            return
        record(model, op, reply, tally)
        if op.outcome == "unknown":
            return


async def churner(api: Api, model: Model, rng: random.Random, stop: asyncio.Event, tally: Tally) -> None:
    """Scales the Deployment between 1 and 3 and deletes its pods, so that pods start and stop
    on Docker while boxk8s is killed."""
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 0.8))  # pacing, not synchronisation
            return
        try:
            if rng.random() < 0.5:
                await _scale(api, model, rng.randint(1, 3), tally)
            else:
                await _delete_a_pod(api, rng, tally)
        except (Unsent, NoAnswer):
            return


async def _scale(api: Api, model: Model, n: int, tally: Tally) -> None:
    try:
        reply = await api.call("PATCH", SCALE_PATH, {"spec": {"replicas": n}}, MERGE)
    except NoAnswer:
        model.replicas_pending = n  # may have happened
        raise
    if reply.status != 200:
        tally.problems.append(f"scale to {n}: {reply.status} {reply.body.get('message')}")
        return
    model.replicas, model.replicas_pending = n, None
    tally.scale_writes += 1


async def _delete_a_pod(api: Api, rng: random.Random, tally: Tally) -> None:
    pods = (await api.call("GET", f"{PODS_PATH}?labelSelector=app%3D{DEPLOYMENT}")).body
    live = [p["metadata"]["name"] for p in pods.get("items", []) if not p["metadata"].get("deletionTimestamp")]
    if live:
        reply = await api.call("DELETE", f"{PODS_PATH}/{rng.choice(live)}")
        if reply.status not in (200, 202, 404):
            tally.problems.append(f"pod delete: {reply.status} {reply.body.get('message')}")
        tally.pod_deletes += 1


class Watcher:
    """Watches the soak namespace's ConfigMaps for the whole soak; when the stream ends (the
    server was killed) it reconnects with the last resourceVersion it saw, as client-go's
    reflector does."""

    def __init__(self, kubeconfig: Path, since: int) -> None:
        self.kubeconfig = kubeconfig
        self.last = since
        self.events: list[tuple[int, str, str]] = []
        self.reconnects = 0
        self.expired: list[str] = []  # 410 Gone answers: the resourceVersion was compacted
        self.errors: list[str] = []
        self.seen = asyncio.Condition()

    async def run(self) -> None:
        api = Api(self.kubeconfig, timeout=None)
        try:
            while True:
                await self._stream(api)
                self.reconnects += 1
                await asyncio.sleep(0.05)  # retry pacing while the server is down
        finally:
            await api.close()

    async def _stream(self, api: Api) -> None:
        path = (f"{KINDS['configmaps'].collection}?watch=true&allowWatchBookmarks=true"
                f"&resourceVersion={self.last}")
        try:
            async with api.session.get(api.base + path) as resp:
                if resp.status == 410:
                    self.expired.append(f"at {self.last}: {await resp.text()}")
                    return
                if resp.status != 200:
                    self.errors.append(f"watch answered {resp.status}: {await resp.text()}")
                    return
                async for line in resp.content:
                    if line.strip():
                        await self._event(json.loads(line))
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            return

    async def _event(self, ev: dict[str, Any]) -> None:
        obj = ev.get("object") or {}
        rv = int((obj.get("metadata") or {}).get("resourceVersion") or 0)
        if ev["type"] == "ERROR":
            if obj.get("code") == 410:
                self.expired.append(f"at {self.last}: {obj.get('message')}")
            else:
                self.errors.append(f"watch error: {obj}")
            return
        if ev["type"] != "BOOKMARK":
            self.events.append((rv, ev["type"], obj["metadata"]["name"]))
        async with self.seen:
            self.last = max(self.last, rv)
            self.seen.notify_all()

    async def wait_past(self, rv: int, deadline: float) -> bool:
        async with self.seen:
            try:
                await asyncio.wait_for(self.seen.wait_for(lambda: self.last >= rv), deadline)
            except TimeoutError:
                return False
        return True
