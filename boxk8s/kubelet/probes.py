"""Liveness, readiness and startup probes: exec, httpGet (a minimal HTTP/1.1 GET) and tcpSocket.

One `Prober` task per probe of a running container instance. It keeps the counting rules of
kubelet's prober worker (thresholds, initial delay, startup gating) and reports only
changes of result; the pod worker decides what a change means (kill, flip Ready).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from boxk8s.kubelet.clock import Clock
from boxk8s.kubelet.runtime.base import ContainerRuntime

log = logging.getLogger(__name__)

ProbeKind = Literal["liveness", "readiness", "startup"]
USER_AGENT = "kube-probe/1.32"


@dataclass(frozen=True)
class ProbeSettings:
    """A probe's timing with Kubernetes' defaults."""

    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: Mapping[str, Any], kind: ProbeKind) -> ProbeSettings:
        success = int(probe.get("successThreshold") or 1)
        if kind != "readiness":
            success = 1  # liveness and startup must use 1
        return cls(
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            success_threshold=success,
            failure_threshold=int(probe.get("failureThreshold") or 3),
        )


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    message: str = ""
    # The runtime could not run the probe at all (Docker down, the container gone): upstream's
    # probe error, whose result the prober worker throws away (prober/worker.go doProbe).
    errored: bool = False


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """An int, a numeric string, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for p in container.get("ports") or []:
        if p.get("name") == text:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port: {text} in {container.get('name', '')}")


async def http_get(host: str, port: int, path: str = "/", *, headers: list[Mapping[str, str]] | None = None,
                   timeout: float = 1.0, scheme: str = "HTTP") -> ProbeOutcome:
    """HTTP/1.1 GET; a status from 200 to 399 is success (redirects are not followed)."""
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme.lower()}://{_join(host, port)}{path}"
    hdrs = {"Host": _join(host, port), "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    for h in headers or []:
        name = h.get("name", "")
        for k in list(hdrs):
            if k.lower() == name.lower():
                del hdrs[k]
        hdrs[name] = h.get("value", "")
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    ctx = None
    if scheme.upper() == "HTTPS":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # as kubelet: probes do not verify certificates
    writer = None
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
            except OSError as e:
                return ProbeOutcome(False, f'Get "{url}": dial tcp {_join(host, port)}: connect: {_os_reason(e)}')
            writer.write(request.encode("latin-1"))
            await writer.drain()
            line = await reader.readline()
    except TimeoutError:
        return ProbeOutcome(False, f'Get "{url}": context deadline exceeded '
                                   "(Client.Timeout exceeded while awaiting headers)")
    except OSError as e:
        return ProbeOutcome(False, f'Get "{url}": {_os_reason(e)}')
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    parts = line.decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return ProbeOutcome(False, f'Get "{url}": malformed HTTP response {line[:64]!r}')
    code = int(parts[1])
    if 200 <= code < 400:
        return ProbeOutcome(True)
    return ProbeOutcome(False, f"HTTP probe failed with statuscode: {code}")


async def tcp_socket(host: str, port: int, *, timeout: float = 1.0) -> ProbeOutcome:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeOutcome(False, f"dial tcp {_join(host, port)}: i/o timeout")
    except OSError as e:
        return ProbeOutcome(False, f"dial tcp {_join(host, port)}: connect: {_os_reason(e)}")
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return ProbeOutcome(True)


async def exec_probe(runtime: ContainerRuntime, container_id: str, command: list[str], *,
                     timeout: float = 1.0) -> ProbeOutcome:
    try:
        code, output = await runtime.exec_probe(container_id, command, timeout)
    except TimeoutError:
        return ProbeOutcome(False, f"command {_quote(command)} timed out")
    except Exception as e:  # the runtime could not run it at all
        return ProbeOutcome(False, str(e), errored=True)
    if code == 0:
        return ProbeOutcome(True, output.decode(errors="replace"))
    text = output.decode(errors="replace").strip()
    return ProbeOutcome(False, text or f"command {_quote(command)} exited with {code}")


async def run_probe(probe: Mapping[str, Any], *, runtime: ContainerRuntime, container_id: str,
                    container: Mapping[str, Any], pod_ip: str, simulated_network: bool = False) -> ProbeOutcome:
    """One probe attempt. `simulated_network`: pod IPs are not real (fake nodes), so network probes pass."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    if probe.get("exec"):
        return await exec_probe(runtime, container_id, list(probe["exec"].get("command") or []), timeout=timeout)
    if probe.get("httpGet"):
        h = probe["httpGet"]
        if simulated_network:
            return ProbeOutcome(True)
        try:
            port = resolve_port(h.get("port"), container)
        except ValueError as e:
            return ProbeOutcome(False, str(e))
        return await http_get(h.get("host") or pod_ip, port, h.get("path") or "/",
                              headers=h.get("httpHeaders"), timeout=timeout, scheme=h.get("scheme") or "HTTP")
    if probe.get("tcpSocket"):
        t = probe["tcpSocket"]
        if simulated_network:
            return ProbeOutcome(True)
        try:
            port = resolve_port(t.get("port"), container)
        except ValueError as e:
            return ProbeOutcome(False, str(e))
        return await tcp_socket(t.get("host") or pod_ip, port, timeout=timeout)
    log.debug("unsupported probe handler %s; treating it as success", sorted(probe))
    return ProbeOutcome(True)


class Prober:
    """Runs one probe of one container instance until cancelled (or until liveness/startup fails).

    `on_result(kind, ok, message)` is called when the result changes (and, for failures, on
    each failed attempt with `ok=None` so the worker can record an Unhealthy event).
    `gate()` returning False holds liveness/readiness while a startup probe has not passed.
    """

    def __init__(self, kind: ProbeKind, probe: Mapping[str, Any],
                 attempt: Callable[[], Awaitable[ProbeOutcome]], clock: Clock,
                 on_result: Callable[[ProbeKind, bool | None, str], None],
                 gate: Callable[[], bool] | None = None) -> None:
        self.kind = kind
        self.settings = ProbeSettings.of(probe, kind)
        self.attempt = attempt
        self.clock = clock
        self.on_result = on_result
        self.gate = gate
        self.result: bool | None = None  # None: unknown yet

    async def run(self) -> None:
        s = self.settings
        if s.initial_delay:
            await self.clock.sleep(s.initial_delay)
        successes = failures = 0
        while True:
            if self.gate is None or self.gate():
                try:
                    outcome = await asyncio.wait_for(self.attempt(), s.timeout + 1.0)
                except TimeoutError:
                    outcome = ProbeOutcome(False, "probe timed out")
                if outcome.errored:
                    log.debug("%s probe errored: %s", self.kind, outcome.message)
                elif outcome.ok:
                    successes, failures = successes + 1, 0
                    if successes >= s.success_threshold and self.result is not True:
                        self.result = True
                        self.on_result(self.kind, True, outcome.message)
                    if self.kind == "startup" and self.result:
                        return  # a startup probe stops once it succeeded
                else:
                    failures, successes = failures + 1, 0
                    self.on_result(self.kind, None, outcome.message)  # one Unhealthy event per failure
                    if failures >= s.failure_threshold and self.result is not False:
                        self.result = False
                        self.on_result(self.kind, False, outcome.message)
                        if self.kind in ("liveness", "startup"):
                            return  # the container will be killed; a new instance gets new probers
            await self.clock.sleep(s.period)


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _os_reason(e: OSError) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    return e.strerror or str(e)


def _quote(command: list[str]) -> str:
    return '"' + " ".join(command) + '"'
