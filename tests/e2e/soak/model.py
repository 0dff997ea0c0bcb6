"""What the crash soak expects, as plain data, and the pure checks over it (no I/O).

Each writer client owns its objects, so for every object the soak knows the one state it must
have after each write that got an answer. A write that got no answer (the process was killed
under it) is *pending*: after the restart the object must be exactly as before that write or
exactly as that write made it, never anything else.
"""

from __future__ import annotations

import base64
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "soak"
Content = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    plural: str
    api_version: str
    kind: str
    collection: str  # the namespaced collection path
    key_prefix: str  # where the store keeps it (the kine row names)

    def path(self, name: str = "") -> str:
        return f"{self.collection}/{name}" if name else self.collection

    def key(self, name: str) -> str:
        return f"{self.key_prefix}{name}"


KINDS = {
    k.plural: k
    for k in (
        Kind("configmaps", "v1", "ConfigMap", f"/api/v1/namespaces/{NAMESPACE}/configmaps",
             f"/registry/core/configmaps/{NAMESPACE}/"),
        Kind("secrets", "v1", "Secret", f"/api/v1/namespaces/{NAMESPACE}/secrets",
             f"/registry/core/secrets/{NAMESPACE}/"),
        Kind("leases", "coordination.k8s.io/v1", "Lease",
             f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases",
             f"/registry/coordination.k8s.io/leases/{NAMESPACE}/"),
    )
}
TRACKED = "soak-c"  # the name prefix of the writers' objects


@dataclass(frozen=True)
class State:
    """An object as the soak last knew it: its resourceVersion and what a write put in it."""

    rv: int
    content: Content


def content_of(kind: str, obj: dict[str, Any]) -> Content:
    if kind == "leases":
        spec = obj.get("spec") or {}
        return {"holderIdentity": spec.get("holderIdentity"), "leaseDurationSeconds": spec.get("leaseDurationSeconds")}
    return dict(obj.get("data") or {})


def state_of(kind: str, obj: dict[str, Any]) -> State:
    return State(int(obj["metadata"]["resourceVersion"]), content_of(kind, obj))


def body_of(kind: str, name: str, content: Content, rv: int = 0) -> dict[str, Any]:
    k = KINDS[kind]
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if rv:
        meta["resourceVersion"] = str(rv)
    obj: dict[str, Any] = {"apiVersion": k.api_version, "kind": k.kind, "metadata": meta}
    if kind == "leases":
        obj["spec"] = dict(content)
    else:
        obj["data"] = dict(content)
    return obj


def make_content(kind: str, client: int, seq: int, rng: random.Random) -> Content:
    """Unique per write (`seq`), of random size, so that a torn or mixed-up value shows."""
    pad = rng.randbytes(rng.randint(0, 1500)).hex()
    if kind == "leases":
        return {"holderIdentity": f"c{client}-{seq}-{pad[:64]}", "leaseDurationSeconds": seq % 300 + 1}
    data = {"client": str(client), "seq": str(seq), "pad": pad}
    if kind == "secrets":
        return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return data


# Verbs: the good ones must succeed; the bad ones must be refused with the given status and
# change nothing.
GOOD = ("create", "update", "patch", "delete")
BAD_STATUS = {"stale-update": 409, "bad-create": 409, "invalid-update": 422, "bad-delete": 404}


@dataclass
class Op:
    round: int
    client: int
    kind: str
    name: str
    verb: str
    before: State | None
    intended: Content | None  # what a good create/update/patch leaves; None for delete and bad verbs
    body: Any = None  # what is sent
    outcome: str = ""  # acked | rejected | unsent | unknown
    status: int = 0
    rv: int = 0  # acked: the revision the server gave (for a delete: its tombstone's)
    resolved: str = ""  # for unknown: applied | not-applied


def plan_op(kind: str, name: str, before: State | None, client: int, seq: int, rng: random.Random,
            round_: int) -> Op:
    """Choose the next write to an object from what it is now."""
    def op(verb: str, intended: Content | None, body: Any) -> Op:
        return Op(round_, client, kind, name, verb, before, intended, body)

    new = make_content(kind, client, seq, rng)
    if before is None:
        if rng.random() < 0.1:
            return op("bad-delete", None, None)
        return op("create", new, body_of(kind, name, new))
    roll = rng.random()
    if roll < 0.15:
        return op("delete", None, None)
    if roll < 0.22:
        return op("stale-update", None, body_of(kind, name, new, max(1, before.rv - 1)))
    if roll < 0.27:
        return op("bad-create", None, body_of(kind, name, new))
    if roll < 0.32 and kind == "configmaps":
        return op("invalid-update", None, body_of(kind, name, {"bad key!": "x"}, before.rv))
    if roll < 0.6 and kind != "secrets":
        if kind == "leases":
            return op("patch", new, {"spec": new})
        patch = {"seq": new["seq"], "pad": new["pad"]}
        return op("patch", {**before.content, **patch}, {"data": patch})
    return op("update", new, body_of(kind, name, new, before.rv))


def resolve_unknown(op: Op, observed: State | None) -> tuple[str, str]:
    """("applied" | "not-applied", problem): a write that got no answer left the object either
    exactly as before or exactly as intended; anything else is a half-done write."""
    if observed == op.before:
        return "not-applied", ""
    if op.verb == "delete" and observed is None:
        return "applied", ""
    if (op.verb in ("create", "update", "patch") and observed is not None and observed.content == op.intended
            and (op.before is None or observed.rv > op.before.rv)):
        return "applied", ""
    return "half-done", (f"{op.kind}/{op.name}: unanswered {op.verb} left {_show(observed)}, "
                         f"neither the state before ({_show(op.before)}) nor the one intended")


def check_state(model: dict[tuple[str, str], State | None],
                observed: dict[tuple[str, str], State]) -> list[str]:
    """Every tracked object is as the last answered (or resolved) write left it, and no other is there."""
    problems = []
    for key in sorted(set(model) | set(observed)):
        want, got = model.get(key), observed.get(key)
        if want != got:
            problems.append(f"{key[0]}/{key[1]}: expected {_show(want)}, found {_show(got)}")
    return problems


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    created: bool
    deleted: bool


def check_rows(acked: list[tuple[str, int, bool]], rows: dict[int, Row], compacted: int) -> list[str]:
    """Every acknowledged write (key, revision, is-delete) has its own row in the table
    (unless compaction has since removed it)."""
    problems = []
    for key, rv, deleted in acked:
        row = rows.get(rv)
        if rv <= compacted and row is None:
            continue
        if row is None or row.name != key or row.deleted != deleted:
            problems.append(f"acknowledged write {key}@{rv} (delete={deleted}) not in the database: {row}")
    return problems


def event_type(row: Row) -> str:
    return "DELETED" if row.deleted else "ADDED" if row.created else "MODIFIED"


def check_watch(events: list[tuple[int, str, str]], rows: list[Row]) -> list[str]:
    """The watcher saw each committed row (rv, type, name) exactly once and in order."""
    problems = []
    rvs = [rv for rv, _, _ in events]
    twice = [rv for rv, n in Counter(rvs).items() if n > 1]
    if twice:
        problems.append(f"watch saw revisions twice: {sorted(twice)[:10]}")
    if any(b <= a for a, b in zip(rvs, rvs[1:], strict=False)):
        problems.append("watch events out of revision order")
    seen = {rv: (t, name) for rv, t, name in events}
    want = {r.id: (event_type(r), r.name.rsplit("/", 1)[-1]) for r in rows}
    missed = sorted(set(want) - set(seen))
    extra = sorted(set(seen) - set(want))
    if missed:
        problems.append(f"watch missed {len(missed)} events: {[(rv, *want[rv]) for rv in missed[:10]]}")
    if extra:
        problems.append(f"watch saw {len(extra)} events with no row: {[(rv, *seen[rv]) for rv in extra[:10]]}")
    wrong = [(rv, seen[rv], want[rv]) for rv in sorted(set(seen) & set(want)) if seen[rv] != want[rv]]
    if wrong:
        problems.append(f"watch events of the wrong type or name: {wrong[:10]}")
    return problems


@dataclass(frozen=True)
class Container:
    id: str
    pod_uid: str  # "" for boxk8s's own containers (the network agent)
    name: str  # the container's name in its pod ("POD" for a sandbox)
    status: str  # running | exited | created …
    started_at: str


@dataclass(frozen=True)
class PodView:
    """A pod as the API shows it: per container its ID (without the docker:// scheme) and restarts."""

    uid: str
    name: str
    containers: dict[str, tuple[str, int]]
    ready: bool
    terminating: bool


def plan_containers(pods: list[PodView], containers: list[Container], pod_containers: set[str]) -> list[str]:
    """What is still wrong between the pods and Docker: orphans, duplicates, missing containers.
    Empty once converged."""
    problems = []
    uids = {p.uid for p in pods}
    mine = [c for c in containers if c.pod_uid]
    infra = [c for c in containers if not c.pod_uid]
    for c in mine:
        if c.pod_uid not in uids:
            problems.append(f"orphan container {c.id[:12]} ({c.name}, {c.status}) of no pod ({c.pod_uid})")
    per = Counter((c.pod_uid, c.name) for c in mine)
    for (uid, name), n in per.items():
        if n > 1:
            problems.append(f"{n} containers {name!r} for pod {uid}")
    for p in pods:
        have = {c.name for c in mine if c.pod_uid == p.uid and c.status == "running"}
        if have != pod_containers:
            problems.append(f"pod {p.name}: running containers {sorted(have)}, want {sorted(pod_containers)}")
    if Counter(c.status for c in infra) != Counter({"running": 1}):
        problems.append(f"boxk8s's own containers: {[(c.id[:12], c.status) for c in infra]}")
    return problems


def check_not_restarted(before: dict[tuple[str, str], Container], pods: list[PodView],
                        containers: list[Container]) -> list[str]:
    """A container that ran when boxk8s was killed still runs (same ID, same start) if its pod
    still exists, and the API reports that very container with no restart."""
    problems = []
    now = {(c.pod_uid, c.name): c for c in containers if c.pod_uid}
    for p in pods:
        for name, (cid, restarts) in p.containers.items():
            if restarts:
                problems.append(f"pod {p.name}: container {name} restarted {restarts} times")
            old = before.get((p.uid, name))
            if old is None:
                continue
            cur = now.get((p.uid, name))
            if cur is None or cur.id != old.id or cur.started_at != old.started_at:
                problems.append(f"pod {p.name}: container {name} was {old.id[:12]} started {old.started_at}, "
                                f"now {cur and cur.id[:12]} started {cur and cur.started_at}")
            elif cid != old.id:
                problems.append(f"pod {p.name}: the API reports container {name} as {cid[:12]}, Docker runs {old.id[:12]}")
    return problems


@dataclass
class Tally:
    """What one round did and found."""

    round: int
    kill_after: float = 0.0
    early_kill_after: float = -1.0  # >= 0: killed again this long after starting up again
    acked: int = 0  # writes that got a 2xx (each then checked in the table and in the end state)
    rejected: int = 0  # bad writes refused as they should be (checked to have changed nothing)
    unanswered: int = 0  # killed in flight: resolved after the restart
    applied: int = 0  # of those, found applied
    unsent: int = 0  # refused at connect: the process was already dead
    scale_writes: int = 0
    pod_deletes: int = 0
    watch_events: int = 0
    restart_seconds: float = 0.0  # `boxk8s up` in the same state folder until the API answers a list
    converge_seconds: float = 0.0
    containers_kept: int = 0  # containers running at the kill and still the same after it
    problems: list[str] = field(default_factory=list)


def _show(s: State | None) -> str:
    if s is None:
        return "absent"
    seq = s.content.get("seq") or s.content.get("holderIdentity", "")[:16]
    return f"rv {s.rv} ({seq or sorted(s.content)})"
