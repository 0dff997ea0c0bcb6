"""pods/log and pods/exec served from the kubelets (boxk8s.client.podstreams.PodStreams).

`KubeletStreams(kubelets)` looks a pod's kubelet up by `spec.nodeName` in a mapping of
running kubelets by node name (the cluster keeps it current). Errors carry upstream's wording.
Log errors are raised on the first `__anext__`, before any byte is produced.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from boxk8s import errors
from boxk8s.client.podstreams import ExecStream, LogOptions
from boxk8s.kubelet.clock import SystemClock, parse_rfc3339
from boxk8s.kubelet.plan import instances_by_name
from boxk8s.kubelet.runtime.base import ContainerState

if TYPE_CHECKING:  # the API serves streams before the kubelets are imported (cluster/components.py)
    from boxk8s.kubelet.agent import Kubelet

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
Obj = dict[str, Any]


def choose_container(pod: Obj, requested: str) -> str:
    """The container a request means: the named one, the annotated default, or the only one."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    if requested:
        if requested not in names and requested not in inits:
            raise errors.BadRequest(f"container {requested} is not valid for pod {md.get('name', '')}")
        return requested
    default = (md.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if default and default in names + inits:
        return default
    if len(names) == 1:
        return names[0]
    message = f"a container name must be specified for pod {md.get('name', '')}, choose one of: [{' '.join(names)}]"
    if inits:
        message += f" or one of the init containers: [{' '.join(inits)}]"
    raise errors.BadRequest(message)


def _waiting_reason(pod: Obj, name: str) -> str:
    st = pod.get("status") or {}
    for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
        if cs.get("name") == name:
            return (((cs.get("state") or {}).get("waiting") or {}).get("reason")) or "ContainerCreating"
    return "ContainerCreating"


class KubeletStreams:
    def __init__(self, kubelets: Mapping[str, Kubelet]) -> None:
        self.kubelets = kubelets

    def _kubelet(self, pod: Obj) -> Kubelet:
        md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        node = spec.get("nodeName")
        if not node:
            raise errors.BadRequest(f"pod {md.get('name', '')} does not have a host assigned")
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            raise errors.BadRequest(f'node "{node}" is not running a kubelet')
        return kubelet

    def _runtime_up(self, kubelet: Kubelet) -> None:
        """A node whose runtime is down (kubelet/runtime_state.py) serves no logs, exec or attach:
        say so plainly instead of failing on Docker's connection error."""
        if kubelet.runtime_error:
            raise errors.InternalError(f'node "{kubelet.node.name}": {kubelet.runtime_error}')

    def _instances(self, pod: Obj, name: str) -> list[ContainerState]:
        worker = self._kubelet(pod).worker_for(pod)
        if worker is None:
            return []
        return instances_by_name(tuple(worker.containers.values())).get(name, [])

    def logs(self, pod: Obj, options: LogOptions) -> AsyncIterator[bytes]:
        return self._logs(pod, options)

    async def _logs(self, pod: Obj, options: LogOptions) -> AsyncIterator[bytes]:
        md = pod.get("metadata") or {}
        kubelet = self._kubelet(pod)
        self._runtime_up(kubelet)
        name = choose_container(pod, options.container)
        instances = self._instances(pod, name)
        if options.previous:
            if len(instances) < 2:
                raise errors.BadRequest(f'previous terminated container "{name}" in pod "{md.get("name", "")}" '
                                        "not found")
            target = instances[1]
        else:
            if not instances:
                raise errors.BadRequest(f'container "{name}" in pod "{md.get("name", "")}" is waiting to start: '
                                        f"{_waiting_reason(pod, name)}")
            target = instances[0]
        since: float | None = None
        if options.since_seconds is not None:
            since = SystemClock().now() - options.since_seconds
        elif options.since_time:
            since = parse_rfc3339(options.since_time)
        follow = options.follow and target.status == "running" and not options.previous
        remaining = options.limit_bytes
        stream = _runtime_errors(kubelet.runtime.logs(target.id, follow=follow, tail=options.tail_lines,
                                                      since=since, timestamps=options.timestamps), name)
        try:
            async for chunk in stream:
                if remaining is not None:
                    if remaining <= 0:
                        return
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                yield chunk
                if remaining is not None and remaining <= 0:
                    return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _running(self, pod: Obj, container: str, verb: str) -> tuple[Kubelet, str]:
        """The kubelet and the id of the running instance of the container a request means."""
        md = pod.get("metadata") or {}
        kubelet = self._kubelet(pod)
        self._runtime_up(kubelet)
        name = choose_container(pod, container)
        instances = self._instances(pod, name)
        if not instances or instances[0].status != "running":
            if not instances:
                raise errors.BadRequest(f'container "{name}" in pod "{md.get("name", "")}" is waiting to start: '
                                        f"{_waiting_reason(pod, name)}")
            raise errors.BadRequest(f"cannot {verb} a container in a completed pod; current phase is "
                                    f"{(pod.get('status') or {}).get('phase', 'Unknown')}"
                                    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                                    else f'container not found ("{name}")')
        return kubelet, instances[0].id

    async def exec(self, pod: Obj, container: str, command: list[str], *, stdin: bool, tty: bool) -> ExecStream:
        kubelet, container_id = self._running(pod, container, "exec into")
        if not command:
            raise errors.BadRequest("you must specify at least 1 command")
        try:
            return await kubelet.runtime.exec(container_id, list(command), stdin=stdin, tty=tty)
        except Exception as e:
            raise errors.InternalError(f"error executing command in container: {e}") from e

    async def attach(self, pod: Obj, container: str, *, stdin: bool, tty: bool) -> ExecStream:
        kubelet, container_id = self._running(pod, container, "attach to")
        try:
            return await kubelet.runtime.attach(container_id, stdin=stdin, tty=tty)
        except Exception as e:
            raise errors.InternalError(f"error attaching to container: {e}") from e

    async def port_forward(self, pod: Obj, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The pod at its IP, as the host reaches pod IPs on Linux (upstream's kubelet enters the pod's
        network namespace instead, so a port bound to the pod's 127.0.0.1 only is not reached here)."""
        self._kubelet(pod)  # the pod's node must have a running kubelet
        status = pod.get("status") or {}
        if status.get("phase") != "Running" or not status.get("podIP"):
            raise errors.BadRequest(
                f"unable to forward port because pod is not running. Current status={status.get('phase', 'Unknown')}")
        return await asyncio.open_connection(status["podIP"], port)


async def _runtime_errors(stream: AsyncIterator[bytes], name: str) -> AsyncIterator[bytes]:
    """The runtime's log stream, its failures (Docker unreachable, say) as a Status that names them."""
    try:
        async for chunk in stream:
            yield chunk
    except (errors.ApiError, asyncio.CancelledError, GeneratorExit):
        raise
    except Exception as e:
        raise errors.InternalError(f'cannot read the logs of container "{name}": {e}') from e
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
