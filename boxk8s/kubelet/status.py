"""The PodStatus a kubelet reports, computed from the spec, the runtime's view and the probes.

Pure: the same inputs give the same status (times come in as arguments), so a worker can
compare what it would report with what is stored and write only on change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.kubelet.clock import rfc3339
from boxk8s.kubelet.plan import (
    VANISHED,
    PodObserved,
    exit_code,
    has_exited,
    instances_by_name,
    reported_status,
    restarts,
    restarts_reported,
    vanished_terminated,
)
from boxk8s.kubelet.runtime.base import ContainerState
from boxk8s.resources.defaults import qos_class

Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class StatusInputs:
    """What the worker knows beyond the runtime: probe results and why containers wait."""

    waiting: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name → (reason, message)
    ready: Mapping[str, bool] = field(default_factory=dict)  # container id → readiness probe result
    started: Mapping[str, bool] = field(default_factory=dict)  # container id → startup probe passed
    runtime: str = "docker"  # the containerID scheme
    host_ip: str = ""


def container_id(runtime: str, cid: str) -> str:
    return f"{runtime}://{cid}"


def image_id(c: ContainerState) -> str:
    iid = c.image_id
    if not iid or "://" in iid:
        return iid
    return f"docker-pullable://{iid}" if "@" in iid else iid


def terminated_state(c: ContainerState, runtime: str) -> Obj:
    code = exit_code(c)
    if c.oom_killed:
        reason = "OOMKilled"
    elif c.status == "created" and c.error:
        reason = "ContainerCannotRun"
    else:
        reason = "Completed" if code == 0 else "Error"
    out: Obj = {"exitCode": code, "reason": reason}
    if c.error:
        out["message"] = c.error
    out["startedAt"] = c.started_at or None
    out["finishedAt"] = c.finished_at or None
    out["containerID"] = container_id(runtime, c.id)
    return out


def _waiting(reason: str, message: str = "") -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def _last_state(old: Mapping[str, Any] | None, latest_id: str) -> Obj:
    """lastState when the runtime has no instance before the latest (`latest_id`, "" for none):
    what the reported status says of the instance before, or, if the report showed another
    instance that is gone now, that one's end (VANISHED when it was running)."""
    if old is None:
        return {}
    if old.get("containerID") and old["containerID"] != latest_id:
        state = old.get("state") or {}
        if "terminated" in state:
            return {"terminated": dict(state["terminated"])}
        if "running" in state:
            return {"terminated": dict(VANISHED)}
    return dict(old.get("lastState") or {})


def container_status(spec: Mapping[str, Any], instances: list[ContainerState], inputs: StatusInputs,
                     default_waiting: str, old: Mapping[str, Any] | None = None, policy: str = "Always") -> Obj:
    """`old`: the container's status as last reported, which stands in for instances the runtime
    no longer has (removed behind the kubelet's back), as in kubelet's convertToAPIContainerStatuses."""
    name = spec["name"]
    latest = instances[0] if instances else None
    prev = instances[1] if len(instances) > 1 else None
    st: Obj = {"name": name, "image": spec.get("image", ""), "imageID": "", "ready": False,
               "restartCount": latest.attempt if latest else 0, "started": False, "state": {}, "lastState": {}}
    waiting = inputs.waiting.get(name)
    if latest is None:
        ended = vanished_terminated(old)
        if ended is not None and not restarts(policy, int(ended.get("exitCode") or 0)):
            return dict(old or {})  # ended for good, then removed: it stays as it was reported
        st["state"] = _waiting(*(waiting or (default_waiting, "")))
        if old is not None:
            st["restartCount"] = restarts_reported(old)
            st["lastState"] = _last_state(old, "")
        return st
    st["containerID"] = container_id(inputs.runtime, latest.id)
    st["imageID"] = image_id(latest)
    if prev is not None and has_exited(prev):
        st["lastState"] = {"terminated": terminated_state(prev, inputs.runtime)}
    elif prev is None and latest.attempt > 0:
        st["lastState"] = _last_state(old, st["containerID"])
    if latest.status == "running":
        st["state"] = {"running": {"startedAt": latest.started_at or None}}
        started = inputs.started.get(latest.id, False) if spec.get("startupProbe") else True
        ready = inputs.ready.get(latest.id, False) if spec.get("readinessProbe") else True
        st["started"] = started
        st["ready"] = started and ready
    elif has_exited(latest):
        if waiting:
            st["state"] = _waiting(*waiting)
            st["lastState"] = {"terminated": terminated_state(latest, inputs.runtime)}
        else:
            st["state"] = {"terminated": terminated_state(latest, inputs.runtime)}
    else:
        st["state"] = _waiting(*(waiting or ("ContainerCreating", "")))
    return st


def _initialized(pod: Obj, by_name: dict[str, list[ContainerState]]) -> list[str]:
    """Init containers not yet done (empty once the app containers have begun)."""
    spec = pod.get("spec") or {}
    if any(by_name.get(c["name"]) for c in spec.get("containers") or []):
        return []
    pending = []
    for c in spec.get("initContainers") or []:
        inst = by_name.get(c["name"]) or []
        if not (inst and has_exited(inst[0]) and exit_code(inst[0]) == 0):
            pending.append(c["name"])
    return pending


def pod_phase(pod: Obj, init_statuses: list[Obj], statuses: list[Obj]) -> str:
    """kubelet's getPhase (pkg/kubelet/kubelet_pods.go), without sidecars."""
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy") or "Always"
    pending_init = failed_init = 0
    init_by_name = {s["name"]: s for s in init_statuses}
    for c in spec.get("initContainers") or []:
        s = init_by_name.get(c["name"])
        state = (s or {}).get("state") or {}
        last = ((s or {}).get("lastState") or {}).get("terminated")
        if s is None or "running" in state:
            pending_init += 1
        elif "terminated" in state:
            if state["terminated"].get("exitCode", 0) != 0:
                failed_init += 1
        elif "waiting" in state:
            if last is not None:
                if last.get("exitCode", 0) != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    by_name = {s["name"]: s for s in statuses}
    for c in spec.get("containers") or []:
        s = by_name.get(c["name"])
        state = (s or {}).get("state") or {}
        if s is None:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode", 0) == 0:
                succeeded += 1
        elif "waiting" in state:
            if ((s.get("lastState") or {}).get("terminated")) is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or (failed_init and not running and not stopped):
        return "Pending"
    if waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(ctype: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    c: Obj = {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None}
    if not ok and reason:
        c["reason"] = reason
    if not ok and message:
        c["message"] = message
    return c


def pod_conditions(pod: Obj, phase: str, observed: PodObserved, init_pending: list[str],
                   statuses: list[Obj], now: float) -> list[Obj]:
    spec = pod.get("spec") or {}
    previous = {c.get("type"): c for c in ((pod.get("status") or {}).get("conditions") or [])}
    sandbox = observed.sandbox
    network = sandbox is not None and sandbox.running and (bool(sandbox.ip) or bool(spec.get("hostNetwork")))
    conds = [_condition("PodReadyToStartContainers", network)]
    conds.append(_condition("Initialized", not init_pending, "ContainersNotInitialized",
                            f"containers with incomplete status: [{' '.join(init_pending)}]"))
    unready = [s["name"] for s in statuses if not s.get("ready")]
    if phase == "Succeeded":
        ready_cond = _condition("ContainersReady", False, "PodCompleted")
    else:
        ready_cond = _condition("ContainersReady", not unready, "ContainersNotReady",
                                f"containers with unready status: [{' '.join(unready)}]")
    pod_ready = dict(ready_cond, type="Ready")
    if ready_cond["status"] == "True":
        for gate in spec.get("readinessGates") or []:
            gtype = gate.get("conditionType", "")
            got = previous.get(gtype)
            if got is None:
                pod_ready = _condition("Ready", False, "ReadinessGatesNotReady",
                                       f'corresponding condition of pod readiness gate "{gtype}" does not exist.')
                break
            if got.get("status") != "True":
                pod_ready = _condition("Ready", False, "ReadinessGatesNotReady",
                                       f'the status of pod readiness gate "{gtype}" is not "True", '
                                       f'but {got.get("status")}')
                break
    conds += [pod_ready, ready_cond]
    if "PodScheduled" not in previous:  # a pod bound by spec.nodeName: the kubelet says it is scheduled
        conds.append(_condition("PodScheduled", True))
    mine = {c["type"] for c in conds}
    stamp = rfc3339(now)
    for c in conds:
        old = previous.get(c["type"])
        same = old is not None and old.get("status") == c["status"]
        c["lastTransitionTime"] = old.get("lastTransitionTime") if same and old else stamp
    # Conditions others own (PodScheduled, readiness gates, DisruptionTarget) are kept as they are.
    conds += [c for t, c in previous.items() if t not in mine]
    return conds


def compute_pod_status(pod: Obj, observed: PodObserved, inputs: StatusInputs, now: float) -> Obj:
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    by_name = instances_by_name(observed.containers)
    init_pending = _initialized(pod, by_name)
    default_waiting = "PodInitializing" if spec.get("initContainers") and init_pending else "ContainerCreating"
    policy = spec.get("restartPolicy") or "Always"
    init_statuses = [container_status(c, by_name.get(c["name"], []), inputs, default_waiting,
                                      reported_status(pod, c["name"]), "OnFailure" if policy == "Always" else policy)
                     for c in spec.get("initContainers") or []]
    statuses = [container_status(c, by_name.get(c["name"], []), inputs, default_waiting,
                                 reported_status(pod, c["name"]), policy)
                for c in spec.get("containers") or []]
    phase = pod_phase(pod, init_statuses, statuses)
    if old.get("phase") in TERMINAL:
        phase = old["phase"]  # a pod that finished never runs again
    status: Obj = {"phase": phase}
    status["conditions"] = pod_conditions(pod, phase, observed, init_pending, statuses, now)
    if inputs.host_ip:
        status["hostIP"] = inputs.host_ip
        status["hostIPs"] = [{"ip": inputs.host_ip}]
    sandbox = observed.sandbox
    pod_ip = sandbox.ip if sandbox is not None and sandbox.ip else old.get("podIP")
    if spec.get("hostNetwork") and inputs.host_ip:
        pod_ip = inputs.host_ip
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = old.get("startTime") or rfc3339(now)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = old.get("qosClass") or qos_class(spec)
    for k in ("nominatedNodeName",):
        if old.get(k):
            status[k] = old[k]
    return status
