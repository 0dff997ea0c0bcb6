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
from boxk8s.kubelet.dns import PodDns, cluster_searches
from boxk8s.kubelet.env import expand_command, resolve_env
from boxk8s.kubelet.runtime.base import ContainerConfig, Mount, SandboxConfig
from boxk8s.kubelet.volumes import VolumeSource, container_mounts
from boxk8s.resources.defaults import image_pull_policy
from boxk8s.resources.quantity import milli_value, value

Obj = dict[str, Any]
RESOLV_CONF = "/etc/resolv.conf"


def pull_policy(container: Mapping[str, Any]) -> str:
    """The container's imagePullPolicy, else the API server's default for its image: a pod
    object that skipped defaulting (a test, an old store) still pulls as Kubernetes would."""
    return container.get("imagePullPolicy") or image_pull_policy(container.get("image", ""))


def uses_pod_ip(container: Mapping[str, Any]) -> bool:
    """Whether the container's env takes the pod IP, which is known only once the sandbox runs."""
    return any(((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") in ("status.podIP", "status.podIPs")
               for e in container.get("env") or [])


def sandbox_config(pod: Mapping[str, Any], uid: str, *, solo_pods: bool, cluster_domain: str = "cluster.local",
                   dns: PodDns | None = None) -> SandboxConfig:
    """The pod's network identity: hostname, subdomain aliases, DNS search path (kubelet's
    `generatePodSandboxConfig`). `solo_pods`: the kubelet lets a runtime skip the sandbox
    container of a pod that `plan.is_solo` allows. `cluster_domain`: the kubelet's setting.

    `dns`: the pod's DNS (`dns.plan_pod_dns`). When it is a file the kubelet mounts into every
    container (`container_config(resolv_conf=…)`), the runtime's own search path is unused; it is
    given the file's, so that both say the same. Otherwise (the runtime's default DNS, or not
    given) the runtime is given the cluster search path, which its resolver completes names with."""
    md, spec = pod["metadata"], pod.get("spec") or {}
    ns = md.get("namespace", "default")
    hostname = spec.get("hostname") or md["name"]
    aliases: tuple[str, ...] = ()
    if spec.get("subdomain"):
        sub = spec["subdomain"]
        aliases = (f"{hostname}.{sub}", f"{hostname}.{sub}.{ns}")
        if cluster_domain:
            aliases += (f"{hostname}.{sub}.{ns}.svc.{cluster_domain}",)
    if dns is not None and dns.config is not None:
        dns_search = dns.config.searches
    else:
        dns_search = cluster_searches(ns, cluster_domain)
    return SandboxConfig(
        namespace=ns, pod_name=md["name"], pod_uid=uid,
        hostname=hostname[:63],  # kubelet's truncatePodHostnameIfNeeded: a DNS label
        aliases=aliases, dns_search=dns_search,
        host_network=bool(spec.get("hostNetwork")), solo=solo_pods and p.is_solo(pod),
    )


def resolv_conf_mount(mounts: tuple[Mount, ...], resolv_conf: str) -> tuple[Mount, ...]:
    """The pod's resolv.conf (a host file) bound read-only at /etc/resolv.conf, as the CRI mounts
    the sandbox's into each container; not over a volume the container mounts there itself
    (containerd skips it then too). `resolv_conf` "": the runtime's own DNS, nothing added."""
    if not resolv_conf or any(m.target.rstrip("/") == RESOLV_CONF for m in mounts):
        return mounts
    return (*mounts, Mount(target=RESOLV_CONF, source=resolv_conf, kind="bind", read_only=True))


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
                     node_allocatable: Mapping[str, str], resolv_conf: str = "",
                     services: Mapping[str, str] | None = None) -> ContainerConfig:
    """The container fully resolved (kubelet's `generateContainerConfig`): env values, expanded
    command and args, mounts, limits, user. `resolv_conf`: the host path of the pod's
    resolv.conf to mount ("" for the runtime's own DNS); `services`: the Service variables
    (env.service_env). Raises `env.ConfigError` for a missing reference (the container then waits
    in CreateContainerConfigError)."""
    env = resolve_env(pod, container, configmaps=configmaps, secrets=secrets, pod_ip=pod_ip, host_ip=host_ip,
                      node_allocatable=node_allocatable, services=services)
    memory, cpu_nano, shares = resource_limits(container)
    return ContainerConfig(
        name=container["name"], image=container.get("image", ""),
        command=expand_command(container.get("command"), env), args=expand_command(container.get("args"), env),
        env=tuple(env), working_dir=container.get("workingDir") or "",
        mounts=resolv_conf_mount(container_mounts(container, volumes, dict(env)), resolv_conf),
        user=run_as_user(pod, container),
        memory_limit=memory, cpu_limit_nano=cpu_nano, cpu_shares=shares,
        tty=bool(container.get("tty")), stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        attempt=attempt, init=init, labels=((p.LABEL_SPEC_HASH, p.spec_hash(container)),),
    )
