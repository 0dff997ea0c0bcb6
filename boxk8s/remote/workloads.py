"""Workloads and their pods, read as kubectl reads them (pure functions over the API's objects)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    kind: str
    short: str  # what `boxk8s status` and `boxk8s logs` write before the slash
    group_version: str  # "apps/v1"; "v1" for core
    plural: str

    def path(self, namespace: str | None = None, name: str = "") -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        where = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{where}/{self.plural}" + (f"/{name}" if name else "")


DEPLOYMENT = Kind("Deployment", "deploy", "apps/v1", "deployments")
STATEFULSET = Kind("StatefulSet", "sts", "apps/v1", "statefulsets")
DAEMONSET = Kind("DaemonSet", "ds", "apps/v1", "daemonsets")
JOB = Kind("Job", "job", "batch/v1", "jobs")
REPLICASET = Kind("ReplicaSet", "rs", "apps/v1", "replicasets")
POD = Kind("Pod", "pod", "v1", "pods")

WORKLOADS = (DEPLOYMENT, STATEFULSET, DAEMONSET, JOB)  # what `boxk8s status` lists

_ALIASES = {alias: kind for kind in (*WORKLOADS, REPLICASET, POD)
            for alias in (kind.short, kind.kind.lower(), kind.plural)}
_ALIASES["po"] = POD


class BadTarget(ValueError):
    pass


def parse_target(text: str) -> tuple[Kind, str]:
    """`deploy/web`, `sts/db`, `ds/agent`, `job/migrate`, `rs/x`, `pod/web-0` or a bare pod name."""
    kind_text, slash, name = text.partition("/")
    if not slash:
        kind_text, name = "pod", text
    kind = _ALIASES.get(kind_text.lower())
    if kind is None:
        raise BadTarget(f"{kind_text!r} is no workload: use deploy/NAME, sts/NAME, ds/NAME, job/NAME or a pod name")
    if not name or "/" in name:
        raise BadTarget(f"{text!r}: expected KIND/NAME or a pod name")
    return kind, name


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as the `labelSelector` query parameter."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


@dataclass(frozen=True)
class WorkloadRow:
    namespace: str
    name: str  # kind/name, as kubectl writes it: deployment.apps/web → deploy/web
    ready: int
    desired: int

    @property
    def complete(self) -> bool:
        return self.ready >= self.desired


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def workload_row(kind: Kind, obj: dict[str, Any]) -> WorkloadRow:
    """Ready out of desired: pods Ready for the controllers of replicas, succeeded out of
    completions for a Job (kubectl's COMPLETIONS)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if kind is DAEMONSET:
        ready, desired = _int(status.get("numberReady")), _int(status.get("desiredNumberScheduled"))
    elif kind is JOB:
        ready, desired = _int(status.get("succeeded")), _int(spec.get("completions"), 1)
    else:
        ready, desired = _int(status.get("readyReplicas")), _int(spec.get("replicas"), 1)
    return WorkloadRow(str(meta.get("namespace", "")), f"{kind.short}/{meta.get('name', '')}", ready, desired)


def workload_rows(listed: list[tuple[Kind, list[dict[str, Any]]]]) -> list[WorkloadRow]:
    rows = [workload_row(kind, obj) for kind, items in listed for obj in items]
    return sorted(rows, key=lambda r: (r.namespace, r.name))


# --- pods and their logs ------------------------------------------------------------------------------

def started_containers(pod: dict[str, Any]) -> list[tuple[str, int]]:
    """(container, restart count) of the app containers that have run: their logs can be read."""
    out = []
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    for container in (pod.get("spec") or {}).get("containers") or []:
        s = statuses.get(container.get("name")) or {}
        state = s.get("state") or {}
        if "running" in state or "terminated" in state:
            out.append((str(container["name"]), _int(s.get("restartCount"))))
    return out


def log_prefix(pod: dict[str, Any], container: str) -> str:
    """`[pod]`, or `[pod/container]` for a pod of several containers."""
    name = (pod.get("metadata") or {}).get("name", "")
    several = len((pod.get("spec") or {}).get("containers") or []) > 1
    return f"[{name}/{container}]" if several else f"[{name}]"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Go's durations, as `kubectl logs --since` takes them: 10s, 5m, 1h30m (a bare number: seconds)."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}: use e.g. 30s, 5m, 1h")
    return sum(float(n) * _UNIT[u] for n, u in parts)
