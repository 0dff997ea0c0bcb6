"""Pure translation between the runtime's values and the Docker Engine API's JSON.

No I/O here: names, image references, create bodies, and inspect output → ContainerState.
docker.py does the talking.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from typing import Any

from boxk8s.kubelet.clock import parse_rfc3339
from boxk8s.kubelet.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_INIT,
    LABEL_MANAGED,
    LABEL_NAMESPACE,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_UID,
    SANDBOX_NAME,
    ContainerConfig,
    ContainerState,
    ContainerStats,
    ContainerStatus,
    ImageError,
    Mount,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
)

# Labels only the Docker runtime uses (not part of the protocol).
LABEL_IMAGE = "io.boxk8s.image"  # the image name as the pod spec gave it (Config.Image may become an id)
LABEL_SANDBOX = "io.boxk8s.sandbox"  # id of the sandbox an app container joined
LABEL_PAUSE = "io.boxk8s.pause"  # content hash of the built-in pause program
LABEL_POD_IP = "io.boxk8s.pod-ip"  # on the container of a solo pod (no sandbox container): its fixed IP
LABEL_SANDBOX_CONFIG = "io.boxk8s.sandbox-config"  # beside it: the pod's SandboxConfig, as JSON
SOLO_PREFIX = "solo-"  # a solo pod's sandbox id: "solo-" + the pod uid (no container has it)

DOCKER_ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_NAME = 200  # Docker has no hard limit; keep names readable in `docker ps`

_STATUS: dict[str, ContainerStatus] = {
    "created": "created",
    "running": "running",
    "paused": "running",
    "restarting": "running",
    "exited": "exited",
}


def network_name(settings: RuntimeSettings) -> str:
    return settings.network or f"boxk8s-{settings.cluster}"


def network_gateway(info: dict[str, Any]) -> str:
    """The host's address on a network, from its inspect JSON ("" when Docker does not say)."""
    for config in (info.get("IPAM") or {}).get("Config") or []:
        gateway = str(config.get("Gateway") or "")
        if gateway and ":" not in gateway:
            return gateway.split("/")[0]
    return ""


def base_labels(settings: RuntimeSettings) -> dict[str, str]:
    return {LABEL_MANAGED: "true", LABEL_CLUSTER: settings.cluster, LABEL_NODE: settings.node}


def list_filters(settings: RuntimeSettings, *extra: str) -> dict[str, list[str]]:
    """The `filters` of a list/events call: our cluster and node (and `extra` label=value terms)."""
    return {"label": [f"{LABEL_CLUSTER}={settings.cluster}", f"{LABEL_NODE}={settings.node}", *extra]}


def is_owned(labels: dict[str, str] | None, settings: RuntimeSettings) -> bool:
    labels = labels or {}
    return labels.get(LABEL_MANAGED) == "true" and labels.get(LABEL_CLUSTER) == settings.cluster


# --- names ---------------------------------------------------------------------------------------

_NAME_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")


def sanitize_name(name: str) -> str:
    """Docker's container name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+."""
    name = _NAME_BAD.sub("-", name).strip("-._") or "x"
    return name[:MAX_NAME].rstrip("-._")


def sandbox_name(settings: RuntimeSettings, config: SandboxConfig) -> str:
    return sanitize_name(
        f"boxk8s-{settings.cluster}-{config.namespace}-{config.pod_name}-{SANDBOX_NAME}-{config.pod_uid[:8]}"
    )


def container_name(settings: RuntimeSettings, sandbox: SandboxState, config: ContainerConfig) -> str:
    # The uid fragment is always there: a pod deleted and re-created under the same name may
    # still have containers being torn down.
    return sanitize_name(
        f"boxk8s-{settings.cluster}-{sandbox.namespace}-{sandbox.pod_name}-{config.name}-"
        f"{config.attempt}-{sandbox.pod_uid[:8]}"
    )


# --- image references ----------------------------------------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)


def pull_reference(image: str) -> str:
    """The reference to pull: validated, with `:latest` added when it names no tag or digest
    (an empty tag would make Docker pull every tag). Raises ImageError(InvalidImageName)."""
    match = _REFERENCE.match(image)
    if not image or match is None or len(match["name"]) > 255:
        raise ImageError(
            "InvalidImageName",
            f'Failed to apply default image tag "{image}": couldn\'t parse image reference "{image}": '
            "invalid reference format",
        )
    if match["tag"] is None and match["digest"] is None:
        return f"{image}:latest"
    return image


def split_repo_tag(reference: str) -> tuple[str, str]:
    """`repo[:tag]` → (repo, tag or "latest"); the tag is after the last ':' past the last '/'."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, "latest"


# --- create bodies -------------------------------------------------------------------------------


def sandbox_spec(settings: RuntimeSettings, config: SandboxConfig) -> dict[str, Any]:
    labels = {
        **base_labels(settings),
        LABEL_NAMESPACE: config.namespace,
        LABEL_POD_NAME: config.pod_name,
        LABEL_POD_UID: config.pod_uid,
        LABEL_CONTAINER_NAME: SANDBOX_NAME,
    }
    host_config: dict[str, Any] = {"IpcMode": "shareable", "RestartPolicy": {"Name": "no"}}
    spec: dict[str, Any] = {"Image": settings.sandbox_image, "Labels": labels, "HostConfig": host_config}
    if config.host_network:
        # Docker refuses a hostname of its own in the host's UTS namespace.
        host_config["NetworkMode"] = "host"
        return spec
    net = network_name(settings)
    spec["Hostname"] = config.hostname
    host_config["NetworkMode"] = net
    if config.dns_search:
        host_config["DnsSearch"] = list(config.dns_search)
    spec["NetworkingConfig"] = {"EndpointsConfig": {net: {"Aliases": list(config.aliases)}}}
    return spec


def mount_spec(mount: Mount, volume_labels: dict[str, str]) -> dict[str, Any]:
    """A HostConfig.Mounts entry. Bind sub_paths are joined here; volume sub_paths are not (docker.py)."""
    if mount.kind == "bind":
        source = os.path.join(mount.source, checked_sub_path(mount.sub_path)) if mount.sub_path else mount.source
        return {"Type": "bind", "Source": source, "Target": mount.target, "ReadOnly": mount.read_only}
    if mount.kind == "volume":
        # Labels apply if Docker creates the volume on first use, so cleanup still finds it.
        return {"Type": "volume", "Source": mount.source, "Target": mount.target, "ReadOnly": mount.read_only,
                "VolumeOptions": {"Labels": volume_labels}}
    if mount.kind == "tmpfs":
        return {"Type": "tmpfs", "Target": mount.target, "ReadOnly": mount.read_only}
    raise ValueError(f"unknown mount kind {mount.kind!r}")


def checked_sub_path(sub_path: str) -> str:
    parts = sub_path.split("/")
    if os.path.isabs(sub_path) or ".." in parts:
        raise ValueError(f"subPath {sub_path!r} must be a relative path without '..'")
    return sub_path


def container_labels(settings: RuntimeSettings, sandbox: SandboxState, config: ContainerConfig) -> dict[str, str]:
    return {
        **dict(config.labels),
        **base_labels(settings),
        LABEL_NAMESPACE: sandbox.namespace,
        LABEL_POD_NAME: sandbox.pod_name,
        LABEL_POD_UID: sandbox.pod_uid,
        LABEL_CONTAINER_NAME: config.name,
        LABEL_ATTEMPT: str(config.attempt),
        LABEL_INIT: "true" if config.init else "false",
        LABEL_IMAGE: config.image,
        LABEL_SANDBOX: sandbox.id,
    }


def container_spec(settings: RuntimeSettings, sandbox: SandboxState, config: ContainerConfig,
                   mounts: list[dict[str, Any]], binds: list[str]) -> dict[str, Any]:
    host_config: dict[str, Any] = {
        "NetworkMode": f"container:{sandbox.id}",
        "IpcMode": f"container:{sandbox.id}",
        "Mounts": mounts,
        "RestartPolicy": {"Name": "no"},  # the kubelet restarts, not Docker
    }
    labels = container_labels(settings, sandbox, config)
    networking: dict[str, Any] = {}
    if sandbox.config is not None:
        # A solo pod: the container itself is on the network, as the sandbox would have been.
        net = network_name(settings)
        host_config["NetworkMode"] = net
        host_config["IpcMode"] = "private"
        if sandbox.config.dns_search:
            host_config["DnsSearch"] = list(sandbox.config.dns_search)
        networking = {"EndpointsConfig": {net: {"Aliases": list(sandbox.config.aliases),
                                                "IPAMConfig": {"IPv4Address": sandbox.ip}}}}
        labels[LABEL_POD_IP] = sandbox.ip
        labels[LABEL_SANDBOX_CONFIG] = solo_config_label(sandbox.config)
    if binds:
        host_config["Binds"] = binds
    if config.memory_limit:
        host_config["Memory"] = config.memory_limit
        host_config["MemorySwap"] = config.memory_limit  # no swap, as in Kubernetes
    if config.cpu_limit_nano:
        host_config["NanoCpus"] = config.cpu_limit_nano
    if config.cpu_shares:
        host_config["CpuShares"] = config.cpu_shares
    spec: dict[str, Any] = {
        "Image": config.image,
        "Labels": labels,
        "Env": [f"{k}={v}" for k, v in config.env],
        "Tty": config.tty,
        "OpenStdin": config.stdin,
        "StdinOnce": config.stdin_once,
        "AttachStdin": False,
        "HostConfig": host_config,
    }
    # Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD; an empty list means unset.
    # Docker drops the image's CMD whenever Entrypoint is given, so command-without-args works.
    if config.command:
        spec["Entrypoint"] = list(config.command)
        spec["Cmd"] = list(config.args or ())
    elif config.args:
        spec["Cmd"] = list(config.args)
    if config.working_dir:
        spec["WorkingDir"] = config.working_dir
    if config.user:
        spec["User"] = config.user
    if networking:
        spec["Hostname"] = sandbox.config.hostname if sandbox.config else ""
        spec["NetworkingConfig"] = networking
    return spec


# --- solo pods (no sandbox container) ------------------------------------------------------------


def solo_sandbox_id(pod_uid: str) -> str:
    return SOLO_PREFIX + pod_uid


def solo_config_label(config: SandboxConfig) -> str:
    return json.dumps({"hostname": config.hostname, "aliases": list(config.aliases),
                       "dnsSearch": list(config.dns_search)}, separators=(",", ":"))


def solo_sandbox_state(labels: dict[str, str]) -> SandboxState | None:
    """The sandbox of a solo pod, from the labels of one of its containers (None: not a solo pod's)."""
    ip = labels.get(LABEL_POD_IP)
    if not ip:
        return None
    try:
        raw = json.loads(labels.get(LABEL_SANDBOX_CONFIG) or "{}")
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    uid, ns, name = labels.get(LABEL_POD_UID, ""), labels.get(LABEL_NAMESPACE, ""), labels.get(LABEL_POD_NAME, "")
    config = SandboxConfig(namespace=ns, pod_name=name, pod_uid=uid, hostname=str(raw.get("hostname") or name),
                           aliases=tuple(str(a) for a in raw.get("aliases") or ()),
                           dns_search=tuple(str(d) for d in raw.get("dnsSearch") or ()), solo=True)
    return SandboxState(solo_sandbox_id(uid), ns, name, uid, ip, True, config)


# --- inspect output → values ---------------------------------------------------------------------


def rfc3339_seconds(docker_time: str | None) -> str:
    """Docker's '2024-05-01T10:11:12.123456789Z' → '2024-05-01T10:11:12Z'; its zero time → ''."""
    if not docker_time or docker_time.startswith("0001-01-01"):
        return ""
    return docker_time[:19] + "Z"


def container_state(info: dict[str, Any]) -> ContainerState:
    """ContainerState from `GET /containers/{id}/json`."""
    config = info.get("Config") or {}
    labels: dict[str, str] = config.get("Labels") or {}
    state = info.get("State") or {}
    status = _STATUS.get(state.get("Status", ""), "unknown")
    error = state.get("Error") or ""
    exit_code = state.get("ExitCode") if status == "exited" or error else None
    try:
        attempt = int(labels.get(LABEL_ATTEMPT, "0"))
    except ValueError:
        attempt = 0
    return ContainerState(
        id=info["Id"],
        pod_uid=labels.get(LABEL_POD_UID, ""),
        namespace=labels.get(LABEL_NAMESPACE, ""),
        pod_name=labels.get(LABEL_POD_NAME, ""),
        name=labels.get(LABEL_CONTAINER_NAME, ""),
        attempt=attempt,
        init=labels.get(LABEL_INIT) == "true",
        status=status,
        exit_code=exit_code,
        started_at=rfc3339_seconds(state.get("StartedAt")),
        finished_at=rfc3339_seconds(state.get("FinishedAt")) if status != "running" else "",
        oom_killed=bool(state.get("OOMKilled")),
        error=error,
        image=labels.get(LABEL_IMAGE) or config.get("Image", ""),
        image_id=info.get("Image", ""),
        labels=dict(labels),
    )


def created_state(container_id: str, sandbox: SandboxState, config: ContainerConfig,
                  labels: dict[str, str], image_id: str = "") -> ContainerState:
    """The state of a container just created, without asking Docker again."""
    return ContainerState(
        id=container_id, pod_uid=sandbox.pod_uid, namespace=sandbox.namespace, pod_name=sandbox.pod_name,
        name=config.name, attempt=config.attempt, init=config.init, status="created",
        image=config.image, image_id=image_id, labels=labels,
    )


def sandbox_state(info: dict[str, Any], network: str) -> SandboxState:
    """SandboxState from an inspect (`Config.Labels`, `State.Running`) or a list entry (`Labels`, `State`)."""
    if "Config" in info:
        labels = info["Config"].get("Labels") or {}
        running = bool(info["State"].get("Running"))
    else:
        labels = info.get("Labels") or {}
        running = info.get("State") == "running"
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    ip = (networks.get(network) or {}).get("IPAddress", "")
    return SandboxState(
        id=info["Id"],
        namespace=labels.get(LABEL_NAMESPACE, ""),
        pod_name=labels.get(LABEL_POD_NAME, ""),
        pod_uid=labels.get(LABEL_POD_UID, ""),
        ip=ip,
        running=running,
    )


def log_time(line: bytes) -> tuple[int, int] | None:
    """(unix seconds, nanoseconds) of a log line's 'RFC3339Nano ' prefix (always UTC, 'Z')."""
    stamp = line.split(b" ", 1)[0]
    if len(stamp) < 20 or not stamp.endswith(b"Z"):
        return None
    try:
        seconds = int(datetime.fromisoformat(stamp[:19].decode() + "+00:00").timestamp())
    except ValueError:
        return None
    fraction = stamp[20:-1].decode() if stamp[19:20] == b"." else ""
    return seconds, int(fraction.ljust(9, "0")[:9] or 0)


def strip_log_time(line: bytes) -> bytes:
    return line.split(b" ", 1)[1] if log_time(line) is not None and b" " in line else line


# --- usage (the stats endpoint) --------------------------------------------------------------------

def stats_filters(settings: RuntimeSettings) -> dict[str, list[str]]:
    """The running containers of our cluster and node: those a stats call can measure."""
    return {**list_filters(settings), "status": ["running"]}


def is_app_container(labels: dict[str, str] | None) -> bool:
    """Not a sandbox, not an init container: the containers PodMetrics lists."""
    labels = labels or {}
    return labels.get(LABEL_CONTAINER_NAME, SANDBOX_NAME) != SANDBOX_NAME and labels.get(LABEL_INIT) != "true"


def working_set(memory_stats: dict[str, Any]) -> int:
    """cAdvisor's workingSet: usage minus inactive file pages (`total_inactive_file` on cgroup v1,
    `inactive_file` on v2), never below zero; what the kubelet reports and `kubectl top` shows."""
    usage = int(memory_stats.get("usage") or 0)
    stats = memory_stats.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0)) or 0
    return usage - int(inactive) if int(inactive) < usage else usage


def container_stats(entry: dict[str, Any], stats: dict[str, Any]) -> ContainerStats | None:
    """ContainerStats from a `GET /containers/json` entry and its `GET /containers/{id}/stats`
    (stream=false, one-shot): None when the container stopped meanwhile (Docker then sends zeros)."""
    labels: dict[str, str] = entry.get("Labels") or {}
    timestamp = parse_rfc3339(stats.get("read"))
    memory = stats.get("memory_stats") or {}
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    if timestamp is None or not memory or cpu is None:
        return None
    return ContainerStats(
        id=entry["Id"], pod_uid=labels.get(LABEL_POD_UID, ""), namespace=labels.get(LABEL_NAMESPACE, ""),
        pod_name=labels.get(LABEL_POD_NAME, ""), name=labels.get(LABEL_CONTAINER_NAME, ""),
        timestamp=timestamp, cpu_usage_ns=int(cpu), memory_working_set=working_set(memory),
    )
