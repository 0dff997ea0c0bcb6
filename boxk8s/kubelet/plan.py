"""Decide what a pod worker must do next: a pure function of the pod and what the runtime shows.

Level-triggered: called again after every change (and on a timer), it returns only the next
steps from the current state — nothing here remembers what it asked for last time, except
the back-off entries it returns as `RecordBackoff` actions for the worker to keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.kubelet.clock import parse_rfc3339
from boxk8s.kubelet.runtime.base import ContainerState, SandboxState
from boxk8s.kubelet.settings import KubeletSettings

LABEL_SPEC_HASH = "io.boxk8s.spec-hash"  # what of the container spec may change in place (its image)
MIN_GRACE_SECONDS = 2.0  # kubelet's minimumGracePeriodInSeconds


# ---- inputs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BackoffEntry:
    """flowcontrol.Backoff's entry: the current delay and when it was last stepped."""

    delay: float
    last: float
    reason: str = ""  # for create errors: what the container keeps showing while it waits
    message: str = ""

    @property
    def until(self) -> float:
        return self.last + self.delay


@dataclass(frozen=True)
class PodObserved:
    sandbox: SandboxState | None = None
    containers: tuple[ContainerState, ...] = ()
    unhealthy: Mapping[str, str] = field(default_factory=dict)  # container id → "liveness" | "startup"


# ---- actions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateSandbox:
    pass


@dataclass(frozen=True)
class RemoveSandbox:
    sandbox_id: str


@dataclass(frozen=True)
class StartContainer:
    name: str
    init: bool
    attempt: int


@dataclass(frozen=True)
class StartCreated:
    container_id: str
    name: str


@dataclass(frozen=True)
class KillContainer:
    container_id: str
    name: str
    grace: float
    reason: str  # "deletion" | "liveness" | "startup" | "spec-changed" | "sandbox-gone" | "orphan" | "unknown"
    pre_stop: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RemoveContainer:
    container_id: str
    name: str


@dataclass(frozen=True)
class RecordBackoff:
    key: str
    entry: BackoffEntry


@dataclass(frozen=True)
class Wait:
    """Nothing to do for this container until `until`; it shows waiting with this reason."""

    name: str
    reason: str
    message: str
    until: float


@dataclass(frozen=True)
class SandboxChanged:
    """The pod's sandbox died or was removed: it is killed and re-created (an event, once per sandbox)."""

    sandbox_id: str


@dataclass(frozen=True)
class FinishPod:
    """Everything of the pod is gone from the runtime: drop its files and, if asked, its object."""

    delete_object: bool


Action = (CreateSandbox | RemoveSandbox | StartContainer | StartCreated | KillContainer | RemoveContainer
          | RecordBackoff | Wait | SandboxChanged | FinishPod)


# ---- back-off --------------------------------------------------------------------------------

def reset_after(settings: KubeletSettings) -> float:
    return settings.backoff_reset_seconds or 2 * settings.crashloop_max_seconds


def next_backoff(entry: BackoffEntry | None, event_time: float, base: float, cap: float,
                 reset: float, reason: str = "", message: str = "") -> BackoffEntry:
    """Backoff.Next: start at base, double per step up to cap; start over after `reset` quiet seconds."""
    if entry is None or event_time - entry.last > reset:
        delay = base
    else:
        delay = min(entry.delay * 2, cap)
    return BackoffEntry(delay, event_time, reason, message)


def in_backoff(entry: BackoffEntry | None, event_time: float, now: float, reset: float) -> bool:
    """Backoff.IsInBackOffSince."""
    if entry is None or now - entry.last > reset:
        return False
    return now - event_time < entry.delay


def format_duration(seconds: float) -> str:
    """Go's time.Duration.String() for the values back-off produces: 10s, 1m20s, 5m0s, 100ms."""
    if seconds < 1:
        ms = round(seconds * 1000)
        return f"{ms}ms" if ms else "0s"
    minutes, secs = divmod(seconds, 60)
    secs_text = f"{secs:.3f}".rstrip("0").rstrip(".") if secs != int(secs) else str(int(secs))
    if minutes >= 60:
        hours, minutes = divmod(int(minutes), 60)
        return f"{hours}h{minutes}m{secs_text}s"
    return f"{int(minutes)}m{secs_text}s" if minutes else f"{secs_text}s"


# ---- helpers ---------------------------------------------------------------------------------

def spec_hash(container: Mapping[str, Any]) -> str:
    return hashlib.sha256(str(container.get("image", "")).encode()).hexdigest()[:16]


def pod_label(pod: Mapping[str, Any]) -> str:
    """format.Pod: name_namespace(uid)."""
    md = pod.get("metadata") or {}
    return f"{md.get('name', '')}_{md.get('namespace', 'default')}({md.get('uid', '')})"


def instances_by_name(containers: tuple[ContainerState, ...]) -> dict[str, list[ContainerState]]:
    """Each container name's instances, newest attempt first."""
    out: dict[str, list[ContainerState]] = {}
    for c in containers:
        out.setdefault(c.name, []).append(c)
    for items in out.values():
        items.sort(key=lambda c: (c.attempt, c.started_at or "", c.finished_at or ""), reverse=True)
    return out


def has_exited(c: ContainerState) -> bool:
    """Exited, or created but failed to start (the runtime recorded an error)."""
    return c.status in ("exited", "unknown") or (c.status == "created" and bool(c.error))


def exit_code(c: ContainerState) -> int:
    if c.exit_code is not None:
        return c.exit_code
    return 128 if c.error or c.status == "unknown" else 0


def pod_grace(pod: Mapping[str, Any]) -> float:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    grace = md.get("deletionGracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", 30)
    return max(float(grace), MIN_GRACE_SECONDS)


def _pre_stop(spec: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    command = ((((spec or {}).get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command")
    return tuple(command) if command else None


# ---- containers that vanished from the runtime ---------------------------------------------
# A container removed behind the kubelet's back (`docker rm -f`) leaves no instance to count
# restarts from; what the pod's status last said stands in for it, as kubelet's
# convertToAPIContainerStatuses and its restart count from the log directory
# (kuberuntime_container.go, calcRestartCountByLogDir) do.

# kubelet_pods.go: the termination a running container that disappeared is taken to have had.
VANISHED = {"exitCode": 137, "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was terminated"}


def reported_status(pod: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The container's status as the pod's status last reported it."""
    st = pod.get("status") or {}
    for s in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        if s.get("name") == name:
            return s  # type: ignore[no-any-return]
    return None


def restarts_reported(old: Mapping[str, Any] | None) -> int:
    """The restart count the container's next instance carries when the runtime has none of
    its instances: one more than reported if the report showed an instance (it vanished)."""
    if old is None:
        return 0
    count = int(old.get("restartCount") or 0)
    return count + 1 if old.get("containerID") else count


def restarts(policy: str, code: int) -> bool:
    """Whether a container that exited with `code` is started again under the pod's restartPolicy."""
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def vanished_terminated(old: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The terminated state the report showed for a container the runtime no longer has."""
    return ((old or {}).get("state") or {}).get("terminated")


@dataclass
class _Ctx:
    pod: Mapping[str, Any]
    observed: PodObserved
    now: float
    backoff: Mapping[str, BackoffEntry]
    settings: KubeletSettings
    restart_policy: str


def is_solo(pod: Mapping[str, Any]) -> bool:
    """Whether the pod may run as its one container, with no sandbox container: one container, no
    init containers, and nothing that needs a namespace held across containers or restarts."""
    spec = pod.get("spec") or {}
    return (len(spec.get("containers") or []) == 1 and not spec.get("initContainers")
            and not spec.get("ephemeralContainers") and not spec.get("hostNetwork")
            and not spec.get("shareProcessNamespace"))


# ---- the plan --------------------------------------------------------------------------------

def plan_pod_actions(pod: Mapping[str, Any] | None, observed: PodObserved, now: float,
                     backoff: Mapping[str, BackoffEntry], settings: KubeletSettings) -> list[Action]:
    """The next actions for one pod (None: its object is gone)."""
    if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return _plan_teardown(pod, observed)
    spec = pod.get("spec") or {}
    ctx = _Ctx(pod, observed, now, backoff, settings, spec.get("restartPolicy") or "Always")
    by_name = instances_by_name(observed.containers)
    actions: list[Action] = []
    wanted = _plan_containers(ctx, by_name, actions)
    sandbox = observed.sandbox
    sandbox_ok = sandbox is not None and sandbox.running
    if not sandbox_ok:
        # No (or a dead) sandbox: what ran in it goes, a fresh one comes; containers follow next round.
        # A dead one that is to be replaced is announced (kuberuntime_manager.go SyncPod: SandboxChanged).
        kills: list[Action] = [
            KillContainer(c.id, c.name, MIN_GRACE_SECONDS, "sandbox-gone")
            for c in observed.containers if c.status == "running"
        ]
        # (A Never pod's killed containers stay dead: no new sandbox, as computePodActions decides.)
        renewed = wanted or (bool(kills) and ctx.restart_policy != "Never")
        changed: list[Action] = [SandboxChanged(sandbox.id)] if sandbox is not None and renewed else []
        if kills:
            return changed + kills
        if sandbox is not None:
            return [*changed, RemoveSandbox(sandbox.id)]
        if not wanted:
            return [a for a in actions if not isinstance(a, KillContainer)]  # finished: no new sandbox
        return [CreateSandbox()]
    actions.extend(_plan_garbage(pod, by_name))
    return actions


def _plan_containers(ctx: _Ctx, by_name: dict[str, list[ContainerState]], actions: list[Action]) -> bool:
    """Append container actions; True if some container wants to be started."""
    spec = ctx.pod.get("spec") or {}
    wanted = False
    initialized = any(by_name.get(c["name"]) for c in spec.get("containers") or [])
    if not initialized:
        for c in spec.get("initContainers") or []:
            instances = by_name.get(c["name"], [])
            latest = instances[0] if instances else None
            if latest is not None and has_exited(latest) and exit_code(latest) == 0:
                continue  # done; the next one may go
            if latest is not None and has_exited(latest) and ctx.restart_policy == "Never":
                return False  # initialization failed for good: the pod is Failed
            wanted |= _plan_one(ctx, c, latest, init=True, restart=True, actions=actions)
            return wanted
    for c in spec.get("containers") or []:
        instances = by_name.get(c["name"], [])
        latest = instances[0] if instances else None
        restart = True
        if latest is not None and has_exited(latest):
            restart = restarts(ctx.restart_policy, exit_code(latest))
        elif latest is None:
            # Removed from the runtime after it ended: it stays ended unless its policy restarts it.
            ended = vanished_terminated(reported_status(ctx.pod, c["name"]))
            if ended is not None and not restarts(ctx.restart_policy, int(ended.get("exitCode") or 0)):
                continue
        wanted |= _plan_one(ctx, c, latest, init=False, restart=restart, actions=actions)
    return wanted


def _plan_one(ctx: _Ctx, c: Mapping[str, Any], latest: ContainerState | None, *, init: bool,
              restart: bool, actions: list[Action]) -> bool:
    name = c["name"]
    if latest is not None and latest.status == "running":
        why = ctx.observed.unhealthy.get(latest.id)
        if why is None and latest.labels.get(LABEL_SPEC_HASH, spec_hash(c)) != spec_hash(c):
            why = "spec-changed"
        if why is not None:
            spec = ctx.pod.get("spec") or {}
            grace = max(float(spec.get("terminationGracePeriodSeconds", 30)), MIN_GRACE_SECONDS)
            actions.append(KillContainer(latest.id, name, grace, why, _pre_stop(c)))
        return False
    if latest is not None and latest.status == "created" and not latest.error:
        actions.append(StartCreated(latest.id, name))
        return True
    if latest is not None and not restart:
        return False
    # A new container: wait out any back-off first (crash, image pull, create errors).
    if latest is not None:
        finished = parse_rfc3339(latest.finished_at) or ctx.now
        key = f"crash/{name}"
        entry = ctx.backoff.get(key)
        reset = reset_after(ctx.settings)
        if in_backoff(entry, finished, ctx.now, reset):
            assert entry is not None
            actions.append(Wait(
                name, "CrashLoopBackOff",
                f"back-off {format_duration(entry.delay)} restarting failed container={name} "
                f"pod={pod_label(ctx.pod)}",
                finished + entry.delay,
            ))
            return True
    for key, reason in ((f"image/{name}", "ImagePullBackOff"), (f"create/{name}", "")):
        entry = ctx.backoff.get(key)
        if entry is not None and ctx.now < entry.until:
            message = entry.message
            if reason:
                # As kubelet (1.33+) does: the waiting message carries the last pull's error.
                message = f'Back-off pulling image "{c.get("image", "")}"'
                if entry.message:
                    message += f": {entry.reason or 'ErrImagePull'}: {entry.message}"
            actions.append(Wait(name, reason or entry.reason, message, entry.until))
            return True
    if latest is not None:
        finished = parse_rfc3339(latest.finished_at) or ctx.now
        s = ctx.settings
        entry = next_backoff(ctx.backoff.get(f"crash/{name}"), finished, s.crashloop_base_seconds,
                             s.crashloop_max_seconds, reset_after(s))
        actions.append(RecordBackoff(f"crash/{name}", entry))
    attempt = latest.attempt + 1 if latest is not None else restarts_reported(reported_status(ctx.pod, name))
    actions.append(StartContainer(name, init, attempt))
    return True


def _plan_garbage(pod: Mapping[str, Any], by_name: dict[str, list[ContainerState]]) -> list[Action]:
    """Keep each name's newest instance and the one before it (for `logs --previous`)."""
    spec = pod.get("spec") or {}
    known = {c["name"] for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])}
    actions: list[Action] = []
    for name, instances in by_name.items():
        if name not in known:
            for c in instances:
                if c.status == "running":
                    actions.append(KillContainer(c.id, name, MIN_GRACE_SECONDS, "unknown"))
                else:
                    actions.append(RemoveContainer(c.id, name))
            continue
        for c in instances[2:]:
            if c.status != "running":
                actions.append(RemoveContainer(c.id, name))
    return actions


def _plan_teardown(pod: Mapping[str, Any] | None, observed: PodObserved) -> list[Action]:
    """Deletion: preStop hooks and stop with the grace left, then remove everything, then the object."""
    spec = (pod or {}).get("spec") or {}
    specs = {c["name"]: c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    grace = pod_grace(pod) if pod is not None else MIN_GRACE_SECONDS
    running = [c for c in observed.containers if c.status == "running"]
    if running:
        return [KillContainer(c.id, c.name, grace, "deletion" if pod is not None else "orphan",
                              _pre_stop(specs.get(c.name)))
                for c in running]
    actions: list[Action] = [RemoveContainer(c.id, c.name) for c in observed.containers]
    if observed.sandbox is not None:
        actions.append(RemoveSandbox(observed.sandbox.id))
    actions.append(FinishPod(delete_object=pod is not None))
    return actions


def next_wake(actions: list[Action]) -> float | None:
    """The earliest time a Wait ends, if any."""
    times = [a.until for a in actions if isinstance(a, Wait)]
    return min(times) if times else None
