"""Table printers for workloads: pods and the controllers that own them.

Cell for cell what kubernetes `pkg/printers/internalversion/printers.go` prints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boxk8s.errors import BadRequest
from boxk8s.resources.selectors import format_label_selector, format_labels, selector_to_string
from boxk8s.resources.tables_common import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Cell,
    Obj,
    Printer,
    age,
    col,
    dig,
    human_duration,
    layout_containers,
    meta,
    name,
    parse_time,
    since,
    spec,
    status,
    template_containers,
)

# --- Pod --------------------------------------------------------------------------------------

_TERMINAL_PHASES = ("Succeeded", "Failed")
NODE_LOST = "NodeLost"  # node.NodeUnreachablePodReason


class _PodTally:
    """Running totals while walking container statuses (printPod's local variables)."""

    def __init__(self) -> None:
        self.restarts = 0
        self.ready = 0
        self.last_restart: datetime | None = None

    def add_restarts(self, cs: Obj) -> None:
        self.restarts += int(cs.get("restartCount") or 0)
        finished = parse_time(dig(cs, "lastState", "terminated", "finishedAt"))
        if finished and (self.last_restart is None or finished > self.last_restart):
            self.last_restart = finished


def _is_restartable_init(container: Obj | None) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return bool(container) and container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _condition_true(conditions: list[Obj], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in conditions)


def _terminated_reason(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _init_reason(pod: Obj, reason: str, tally: _PodTally, sidecars: _PodTally) -> tuple[str, bool]:
    """Walk init containers until the first one not done; (reason, still initializing)."""
    inits = {c.get("name"): c for c in dig(pod, "spec", "initContainers", default=[])}
    total = len(inits)
    for i, cs in enumerate(dig(pod, "status", "initContainerStatuses", default=[])):
        tally.add_restarts(cs)
        sidecar = _is_restartable_init(inits.get(cs.get("name")))
        if sidecar:
            sidecars.add_restarts(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started"):
            sidecars.ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            return _terminated_reason(term, "Init:"), True
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return "Init:" + waiting["reason"], True
        return f"Init:{i}/{total}", True
    return reason, False


def _container_reason(pod: Obj, reason: str, tally: _PodTally) -> str:
    """Walk regular containers last to first; the first one listed has the final word."""
    has_running = False
    for cs in reversed(dig(pod, "status", "containerStatuses", default=[])):
        tally.add_restarts(cs)
        state = cs.get("state") or {}
        waiting, term = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif term is not None:
            reason = _terminated_reason(term)
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    if reason == "Completed" and has_running:
        ready = _condition_true(dig(pod, "status", "conditions", default=[]), "Ready")
        reason = "Running" if ready else "NotReady"
    return reason


def pod_status(pod: Obj) -> tuple[str, int, int, int, datetime | None]:
    """(STATUS, ready, total, restarts, last restart) exactly as kubectl computes them."""
    st = status(pod)
    phase = st.get("phase", "")
    reason = st.get("reason") or phase
    conditions = st.get("conditions") or []
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"
    inits = dig(pod, "spec", "initContainers", default=[])
    total = len(dig(pod, "spec", "containers", default=[])) + sum(map(_is_restartable_init, inits))
    tally, sidecars = _PodTally(), _PodTally()
    reason, initializing = _init_reason(pod, reason, tally, sidecars)
    tally.ready = sidecars.ready  # started sidecars count as ready containers either way
    if not initializing or _condition_true(conditions, "Initialized"):
        tally = sidecars  # restarts of finished init containers no longer count
        reason = _container_reason(pod, reason, tally)
    if meta(pod).get("deletionTimestamp"):
        if st.get("reason") == NODE_LOST:
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"
    return reason or "Pending", tally.ready, total, tally.restarts, tally.last_restart


def _restarts_cell(restarts: int, last: datetime | None, now: datetime) -> str:
    if restarts and last is not None:
        return f"{restarts} ({human_duration(now - last)} ago)"
    return str(restarts)


def _readiness_gates(pod: Obj) -> str:
    gates = dig(pod, "spec", "readinessGates", default=[])
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in dig(pod, "status", "conditions", default=[])}
    true = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def _pod_ip(pod: Obj) -> str:
    ips = dig(pod, "status", "podIPs", default=[])
    ip = ips[0].get("ip", "") if ips else status(pod).get("podIP", "")
    return ip or "<none>"


def _pod_row(pod: Obj, now: datetime) -> list[Cell]:
    reason, ready, total, restarts, last = pod_status(pod)
    return [
        name(pod), f"{ready}/{total}", reason, _restarts_cell(restarts, last, now), age(pod, now),
        _pod_ip(pod), spec(pod).get("nodeName") or "<none>",
        status(pod).get("nominatedNodeName") or "<none>", _readiness_gates(pod),
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]]:
    phase = status(pod).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return []


POD = Printer(
    (
        NAME,
        col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        col("Status", "The aggregate status of the containers in this pod."),
        col("Restarts", "The number of times the containers in this pod have been restarted and when the "
            "last container in this pod has restarted."),
        AGE,
        col("IP", "podIP address allocated to the pod.", wide=True),
        col("Node", "NodeName indicates in which node this pod is scheduled.", wide=True),
        col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.",
            wide=True),
        col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.",
            wide=True),
    ),
    _pod_row,
    _pod_conditions,
)

# --- Deployment, ReplicaSet, StatefulSet, DaemonSet --------------------------------------------


def _replicas(obj: Obj) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def _count(obj: Obj, field: str) -> int:
    return int(status(obj).get(field) or 0)


def _deployment_selector(obj: Obj) -> str:
    try:
        return selector_to_string(spec(obj).get("selector"))
    except BadRequest:
        return "<invalid>"


def _deployment_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    return [
        name(obj), f"{_count(obj, 'readyReplicas')}/{_replicas(obj)}", _count(obj, "updatedReplicas"),
        _count(obj, "availableReplicas"), age(obj, now), names, images, _deployment_selector(obj),
    ]


SELECTOR_DOC = "Label query over pods that should match the replica count."

DEPLOYMENT = Printer(
    (
        NAME,
        col("Ready", "Number of the pod with ready state"),
        col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the "
            "desired template spec."),
        col("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by "
            "this deployment."),
        AGE, CONTAINERS, IMAGES,
        col("Selector", SELECTOR_DOC, wide=True),
    ),
    _deployment_row,
)


def _replicaset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    return [
        name(obj), _replicas(obj), _count(obj, "replicas"), _count(obj, "readyReplicas"), age(obj, now),
        names, images, format_label_selector(spec(obj).get("selector")),
    ]


REPLICASET = Printer(
    (
        NAME,
        col("Desired", "Replicas is the number of desired replicas.", type="integer"),
        col("Current", "Replicas is the most recently observed number of replicas.", type="integer"),
        col("Ready", "The number of ready replicas for this replica set.", type="integer"),
        AGE, CONTAINERS, IMAGES,
        col("Selector", SELECTOR_DOC, wide=True),
    ),
    _replicaset_row,
)


def _statefulset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    return [name(obj), f"{_count(obj, 'readyReplicas')}/{_replicas(obj)}", age(obj, now), names, images]


STATEFULSET = Printer(
    (NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES),
    _statefulset_row,
)


def _daemonset_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    node_selector = dig(obj, "spec", "template", "spec", "nodeSelector", default={})
    return [
        name(obj), _count(obj, "desiredNumberScheduled"), _count(obj, "currentNumberScheduled"),
        _count(obj, "numberReady"), _count(obj, "updatedNumberScheduled"), _count(obj, "numberAvailable"),
        format_labels(node_selector), age(obj, now), names, images,
        format_label_selector(spec(obj).get("selector")),
    ]


DAEMONSET = Printer(
    (
        NAME,
        col("Desired", "The total number of nodes that should be running the daemon pod.", type="integer"),
        col("Current", "The number of nodes that are running at least 1 daemon pod.", type="integer"),
        col("Ready", "The number of nodes that should be running the daemon pod and have one or more of "
            "the daemon pod running and ready.", type="integer"),
        col("Up-to-date", "The total number of nodes that are running updated daemon pod", type="integer"),
        col("Available", "The number of nodes that should be running the daemon pod and have one or more "
            "of the daemon pod running and available.", type="integer"),
        col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
        AGE, CONTAINERS, IMAGES,
        col("Selector", "A label query over pods that are managed by the daemon set.", wide=True),
    ),
    _daemonset_row,
)

# --- Job, CronJob -----------------------------------------------------------------------------


def _job_condition(obj: Obj, ctype: str) -> bool:
    for c in status(obj).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def job_status(obj: Obj) -> str:
    if _job_condition(obj, "Complete"):
        return "Complete"
    if _job_condition(obj, "Failed"):
        return "Failed"
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(obj, "Suspended"):
        return "Suspended"
    if _job_condition(obj, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_completions(obj: Obj) -> str:
    succeeded = _count(obj, "succeeded")
    completions = spec(obj).get("completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(spec(obj).get("parallelism") or 0)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(obj: Obj, now: datetime) -> str:
    start = parse_time(status(obj).get("startTime"))
    if start is None:
        return ""
    end = parse_time(status(obj).get("completionTime")) or now
    return human_duration(end - start)


def _job_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    return [
        name(obj), job_status(obj), _job_completions(obj), _job_duration(obj, now), age(obj, now),
        names, images, format_label_selector(spec(obj).get("selector")),
    ]


JOB_SELECTOR_DOC = "A label query over pods that should match the pod count."

JOB = Printer(
    (
        NAME,
        col("Status", "Status of the job."),
        col("Completions", "The number of pods which reached phase Succeeded."),
        col("Duration", "Time required to complete the job."),
        AGE, CONTAINERS, IMAGES,
        col("Selector", JOB_SELECTOR_DOC, wide=True),
    ),
    _job_row,
)


def _bool_ptr(value: Any) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def _cronjob_row(obj: Obj, now: datetime) -> list[Cell]:
    job_spec = dig(obj, "spec", "jobTemplate", "spec", default={})
    names, images = layout_containers(dig(job_spec, "template", "spec", "containers", default=[]))
    last = status(obj).get("lastScheduleTime")
    return [
        name(obj), spec(obj).get("schedule", ""), spec(obj).get("timeZone") or "<none>",
        _bool_ptr(spec(obj).get("suspend")), len(status(obj).get("active") or []),
        since(last, now) if last else "<none>", age(obj, now),
        names, images, format_label_selector(job_spec.get("selector")),
    ]


CRONJOB = Printer(
    (
        NAME,
        col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        col("Timezone", "The time zone name for the given schedule."),
        col("Suspend", "This flag tells the controller to suspend subsequent executions.", type="boolean"),
        col("Active", "A list of pointers to currently running jobs.", type="integer"),
        col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
        AGE, CONTAINERS, IMAGES,
        col("Selector", JOB_SELECTOR_DOC, wide=True),
    ),
    _cronjob_row,
)

# --- ControllerRevision -----------------------------------------------------------------------


def _controller_name(obj: Obj) -> str:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}" if kind else ref.get("name", "")
    return "<none>"


def _controllerrevision_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), _controller_name(obj), int(obj.get("revision") or 0), age(obj, now)]


CONTROLLERREVISION = Printer(
    (
        NAME,
        col("Controller", "Controller of the object"),
        col("Revision", "Revision indicates the revision of the state represented by Data."),
        AGE,
    ),
    _controllerrevision_row,
)
