"""Pod spec → what a runtime is given (`SandboxConfig`, `ContainerConfig`, the pull policy).

Pure builders, no I/O: the worker fetches what they need (configMaps, secrets, the prepared
volumes, the sandbox's IP) and hands it in, so what a spec means for the runtime is tested by
tables of cases with no runtime and no event loop (as kubelet's `generatePodSandboxConfig` and
`generateContainerConfig` build CRI configs apart from the calls that use them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxk8s.kubelet import plan as p
from boxk8s.kubelet.env import expand_command, resolve_env
from boxk8s.kubelet.runtime.base import ContainerConfig, SandboxConfig
from boxk8s.kubelet.volumes import VolumeSource, container_mounts
from boxk8s.resources.defaults import image_pull_policy
from boxk8s.resources.quantity import milli_value, value

Obj = dict[str, Any]
CLUSTER_DOMAIN = "cluster.local"


def pull_policy(container: Mapping[str, Any]) -> str:
    """The container's imagePullPolicy, else the API server's default for its image: a pod
    object that skipped defaulting (a test, an old store) still pulls as Kubernetes would."""
    return container.get("imagePullPolicy") or image_pull_policy(container.get("image", ""))


def uses_pod_ip(container: Mapping[str, Any]) -> bool:
    """Whether the container's env takes the pod IP, which is known only once the sandbox runs."""
    return any(((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") in ("status.podIP", "status.podIPs")
               for e in container.get("env") or [])


def sandbox_config(pod: Mapping[str, Any], uid: str, *, solo_pods: bool) -> SandboxConfig:
    """The pod's network identity: hostname, subdomain aliases, DNS search path (kubelet's
    `generatePodSandboxConfig`). `solo_pods`: the kubelet lets a runtime skip the sandbox
    container of a pod that `plan.is_solo` allows."""
    md, spec = pod["metadata"], pod.get("spec") or {}
    ns = md.get("namespace", "default")
    hostname = spec.get("hostname") or md["name"]
    aliases: tuple[str, ...] = ()
    if spec.get("subdomain"):
        sub = spec["subdomain"]
        aliases = (f"{hostname}.{sub}", f"{hostname}.{sub}.{ns}", f"{hostname}.{sub}.{ns}.svc.{CLUSTER_DOMAIN}")
    return SandboxConfig(
        namespace=ns, pod_name=md["name"], pod_uid=uid,
        hostname=hostname[:63],  # kubelet's truncatePodHostnameIfNeeded: a DNS label
        aliases=aliases,
        dns_search=(f"{ns}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN),
        host_network=bool(spec.get("hostNetwork")), solo=solo_pods and p.is_solo(pod),
    )


def resource_limits(container: Mapping[str, Any]) -> tuple[int, int, int]:
    """(memory limit in bytes, CPU limit in NanoCPUs, CPU shares); 0 for what is not set.
    Shares follow the request (else the limit), as kubelet's `MilliCPUToShares` (at least 2)."""
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    memory = value(limits["memory"]) if limits.get("memory") else 0
    cpu_nano = milli_value(limits["cpu"]) * 1_000_000 if limits.get("cpu") else 0
    req_cpu = requests.get("cpu") or limits.get("cpu")
    shares = max(2, milli_value(req_cpu) * 1024 // 1000) if req_cpu else 0
    return memory, cpu_nano, shares


def run_as_user(pod: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    """"uid" or "uid:gid" from the securityContext (the container's over the pod's), or ""."""
    sc = {**((pod.get("spec") or {}).get("securityContext") or {}), **(container.get("securityContext") or {})}
    if sc.get("runAsUser") is None:
        return ""
    return str(sc["runAsUser"]) + (f":{sc['runAsGroup']}" if sc.get("runAsGroup") is not None else "")


def container_config(pod: Mapping[str, Any], container: Mapping[str, Any], *, attempt: int, init: bool,
                     configmaps: Mapping[str, Obj | None], secrets: Mapping[str, Obj | None],
                     volumes: Mapping[str, VolumeSource], pod_ip: str, host_ip: str,
                     node_allocatable: Mapping[str, str]) -> ContainerConfig:
    """The container fully resolved (kubelet's `generateContainerConfig`): env values, expanded
    command and args, mounts, limits, user. Raises `env.ConfigError` for a missing reference
    (the container then waits in CreateContainerConfigError)."""
    env = resolve_env(pod, container, configmaps=configmaps, secrets=secrets, pod_ip=pod_ip, host_ip=host_ip,
                      node_allocatable=node_allocatable)
    memory, cpu_nano, shares = resource_limits(container)
    return ContainerConfig(
        name=container["name"], image=container.get("image", ""),
        command=expand_command(container.get("command"), env), args=expand_command(container.get("args"), env),
        env=tuple(env), working_dir=container.get("workingDir") or "",
        mounts=container_mounts(container, volumes, dict(env)), user=run_as_user(pod, container),
        memory_limit=memory, cpu_limit_nano=cpu_nano, cpu_shares=shares,
        tty=bool(container.get("tty")), stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        attempt=attempt, init=init, labels=((p.LABEL_SPEC_HASH, p.spec_hash(container)),),
    )
