"""Pod spec → runtime configs: tables of specs and what the runtime is given."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.kubelet.container_config import (
    container_config,
    pull_policy,
    resource_limits,
    run_as_user,
    sandbox_config,
    uses_pod_ip,
)
from boxk8s.kubelet.dns import PodDns, plan_pod_dns
from boxk8s.kubelet.env import ConfigError
from boxk8s.kubelet.plan import LABEL_SPEC_HASH, spec_hash
from boxk8s.kubelet.runtime.base import Mount, RuntimeSettings, SandboxConfig, SandboxState
from boxk8s.kubelet.runtime.docker_specs import base_labels, container_spec, mount_spec, sandbox_spec
from boxk8s.kubelet.volumes import VolumeSource

DIGEST = "sha256:" + "0" * 64


def pod(spec: dict[str, Any] | None = None, name: str = "web", namespace: str = "dev") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": "u-1"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}], **(spec or {})}}


@pytest.mark.parametrize(("container", "expected"), [
    ({"image": "busybox"}, "Always"),  # untagged means :latest
    ({"image": "busybox:latest"}, "Always"),
    ({"image": "registry:5000/busybox"}, "Always"),  # the registry's port is no tag
    ({"image": "busybox:1.36"}, "IfNotPresent"),
    ({"image": "registry:5000/team/busybox:1.36"}, "IfNotPresent"),
    ({"image": f"busybox@{DIGEST}"}, "IfNotPresent"),
    ({"image": f"busybox:latest@{DIGEST}"}, "IfNotPresent"),  # a digest pins it
    ({}, "Always"),
    ({"image": "busybox", "imagePullPolicy": "Never"}, "Never"),  # the spec's own wins
    ({"image": "busybox:1.36", "imagePullPolicy": "Always"}, "Always"),
    ({"image": "busybox", "imagePullPolicy": ""}, "Always"),  # empty: defaulted
])
def test_pull_policy(container: dict[str, Any], expected: str) -> None:
    assert pull_policy(container) == expected


@pytest.mark.parametrize(("env", "expected"), [
    ([], False),
    ([{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}], True),
    ([{"name": "IPS", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}}], True),
    ([{"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}], False),
    ([{"name": "A", "value": "status.podIP"}], False),
])
def test_uses_pod_ip(env: list[dict[str, Any]], expected: bool) -> None:
    assert uses_pod_ip({"name": "app", "env": env}) is expected


SEARCH = ("dev.svc.cluster.local", "svc.cluster.local", "cluster.local")


@pytest.mark.parametrize(("spec", "solo_pods", "expected"), [
    ({}, True, SandboxConfig("dev", "web", "u-1", "web", dns_search=SEARCH, solo=True)),
    ({}, False, SandboxConfig("dev", "web", "u-1", "web", dns_search=SEARCH, solo=False)),
    ({"hostname": "h"}, True, SandboxConfig("dev", "web", "u-1", "h", dns_search=SEARCH, solo=True)),
    ({"hostname": "h", "subdomain": "s"}, True,
     SandboxConfig("dev", "web", "u-1", "h", aliases=("h.s", "h.s.dev", "h.s.dev.svc.cluster.local"),
                   dns_search=SEARCH, solo=True)),
    ({"subdomain": "s"}, True,
     SandboxConfig("dev", "web", "u-1", "web", aliases=("web.s", "web.s.dev", "web.s.dev.svc.cluster.local"),
                   dns_search=SEARCH, solo=True)),
    ({"hostname": "x" * 70}, True, SandboxConfig("dev", "web", "u-1", "x" * 63, dns_search=SEARCH, solo=True)),
    ({"hostNetwork": True}, False, SandboxConfig("dev", "web", "u-1", "web", dns_search=SEARCH, host_network=True)),
    # Two containers share a namespace: never solo.
    ({"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]}, True,
     SandboxConfig("dev", "web", "u-1", "web", dns_search=SEARCH, solo=False)),
])
def test_sandbox_config(spec: dict[str, Any], solo_pods: bool, expected: SandboxConfig) -> None:
    assert sandbox_config(pod(spec), "u-1", solo_pods=solo_pods) == expected


def test_sandbox_config_of_a_pod_without_namespace_is_in_default() -> None:
    config = sandbox_config({"metadata": {"name": "web"}, "spec": {}}, "u-1", solo_pods=False)
    assert (config.namespace, config.dns_search[0]) == ("default", "default.svc.cluster.local")


@pytest.mark.parametrize(("resources", "expected"), [
    ({}, (0, 0, 0)),
    ({"limits": {"memory": "64Mi"}}, (64 * 1024**2, 0, 0)),
    ({"limits": {"cpu": "500m"}}, (0, 500_000_000, 512)),  # shares follow the limit without a request
    ({"limits": {"cpu": "2"}, "requests": {"cpu": "250m"}}, (0, 2_000_000_000, 256)),
    ({"requests": {"cpu": "1"}}, (0, 0, 1024)),
    ({"requests": {"cpu": "1m"}}, (0, 0, 2)),  # MilliCPUToShares: at least 2
    ({"requests": {"memory": "1Gi"}}, (0, 0, 0)),  # a memory request limits nothing
])
def test_resource_limits(resources: dict[str, Any], expected: tuple[int, int, int]) -> None:
    assert resource_limits({"name": "app", "resources": resources}) == expected


@pytest.mark.parametrize(("pod_sc", "container_sc", "expected"), [
    ({}, {}, ""),
    ({"runAsUser": 1000}, {}, "1000"),
    ({"runAsUser": 1000, "runAsGroup": 3000}, {}, "1000:3000"),
    ({"runAsUser": 1000}, {"runAsUser": 0}, "0"),  # the container's over the pod's; 0 is root, not unset
    ({"runAsGroup": 3000}, {"runAsUser": 7}, "7:3000"),
    ({"runAsGroup": 3000}, {}, ""),  # a group alone is not passed on
])
def test_run_as_user(pod_sc: dict[str, Any], container_sc: dict[str, Any], expected: str) -> None:
    assert run_as_user(pod({"securityContext": pod_sc}), {"name": "app", "securityContext": container_sc}) == expected


def build(container: dict[str, Any], **kw: Any) -> Any:
    inputs: dict[str, Any] = {
        "attempt": 0, "init": False, "configmaps": {}, "secrets": {}, "volumes": {}, "pod_ip": "10.244.0.5",
        "host_ip": "172.18.0.2", "node_allocatable": {"cpu": "2000m", "memory": str(4 * 1024**3)}, **kw}
    return container_config(pod(), container, **inputs)


def test_container_config_resolves_env_command_and_mounts() -> None:
    container = {
        "name": "app", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["echo $(IP) $(MSG)"],
        "workingDir": "/w", "tty": True, "stdin": True, "stdinOnce": True,
        "env": [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "MSG", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "msg"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "DIR", "value": "logs"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data", "subPathExpr": "$(DIR)"},
                         {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
                         {"name": "unknown", "mountPath": "/nowhere"}],  # no such volume: no mount
        "resources": {"limits": {"memory": "128Mi", "cpu": "1"}},
    }
    config = build(container, attempt=3, configmaps={"cfg": {"data": {"msg": "hi"}}},
                   volumes={"data": VolumeSource("volume", "boxk8s-data"), "cfg": VolumeSource("bind", "/s/cfg")})
    assert config.env == (("IP", "10.244.0.5"), ("MSG", "hi"), ("CPU", "1"), ("DIR", "logs"))
    assert (config.command, config.args) == (("sh", "-c"), ("echo 10.244.0.5 hi",))
    assert config.mounts == (Mount("/data", "boxk8s-data", "volume", sub_path="logs"),
                             Mount("/etc/cfg", "/s/cfg", "bind", read_only=True))
    assert (config.memory_limit, config.cpu_limit_nano, config.cpu_shares) == (128 * 1024**2, 1_000_000_000, 1024)
    assert (config.name, config.image, config.working_dir, config.attempt, config.init) == \
        ("app", "busybox:1.36", "/w", 3, False)
    assert (config.tty, config.stdin, config.stdin_once) == (True, True, True)
    assert config.labels == ((LABEL_SPEC_HASH, spec_hash(container)),)


@pytest.mark.parametrize(("container", "field", "expected"), [
    ({"name": "app"}, "command", None),  # no override: the image's entrypoint
    ({"name": "app", "command": []}, "command", ()),
    ({"name": "app", "args": ["$(HOSTNAME)"]}, "args", ("$(HOSTNAME)",)),  # unknown variables stay
    ({"name": "app", "env": [{"name": "A", "value": "x"}], "args": ["$$(A)", "$(A)"]}, "args", ("$(A)", "x")),
    ({"name": "app", "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}, "env",
     (("N", ""),)),
    ({"name": "app", "env": [{"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}}]},
     "env", (("M", str(4 * 1024**3)),)),  # no limit: the node's allocatable
    ({"name": "app", "image": "img"}, "image", "img"),
    ({"name": "app"}, "image", ""),
    ({"name": "app"}, "user", ""),
])
def test_container_config_fields(container: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(build(container), field) == expected


def test_an_init_container_is_marked_as_such() -> None:
    assert build({"name": "setup"}, init=True, attempt=1).init is True


def test_a_missing_configmap_is_a_config_error() -> None:
    container = {"name": "app", "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]}
    with pytest.raises(ConfigError, match='configmap "gone" not found'):
        build(container, configmaps={"gone": None})


# ---- the pod's resolv.conf (kubelet/dns.py) -------------------------------------------------------------

RESOLV = "/state/pods/u-1/etc-resolv.conf"
RESOLV_BIND = Mount("/etc/resolv.conf", RESOLV, "bind", read_only=True)


def pod_dns(spec: dict[str, Any]) -> PodDns:
    return plan_pod_dns(pod(spec), cluster_dns=("10.96.0.10",), cluster_domain="cluster.local",
                        host_resolv_conf="nameserver 10.0.0.2\nsearch corp.example\n")


def test_sandbox_config_takes_the_cluster_domain_from_the_setting() -> None:
    config = sandbox_config(pod({"subdomain": "s"}), "u-1", solo_pods=True, cluster_domain="corp.internal")
    assert config.dns_search == ("dev.svc.corp.internal", "svc.corp.internal", "corp.internal")
    assert config.aliases == ("web.s", "web.s.dev", "web.s.dev.svc.corp.internal")


def test_sandbox_config_with_the_runtime_s_dns_keeps_the_cluster_search() -> None:
    dns = pod_dns({"dnsPolicy": "Default"})
    assert dns.resolv_conf is None
    assert sandbox_config(pod(), "u-1", solo_pods=True, dns=dns).dns_search == SEARCH


def test_sandbox_config_with_a_resolv_conf_says_its_search() -> None:
    dns = pod_dns({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["a.example"]}})
    assert sandbox_config(pod(), "u-1", solo_pods=True, dns=dns).dns_search == ("a.example",)
    dns = pod_dns({})
    assert sandbox_config(pod(), "u-1", solo_pods=True, dns=dns).dns_search == (*SEARCH, "corp.example")


def test_the_resolv_conf_is_bound_read_only_after_the_volumes() -> None:
    config = build({"name": "app", "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]}, resolv_conf=RESOLV,
                   volumes={"cfg": VolumeSource("bind", "/s/cfg", read_only=True)})
    assert config.mounts == (Mount("/etc/cfg", "/s/cfg", "bind", read_only=True), RESOLV_BIND)
    assert build({"name": "app"}).mounts == ()  # "": the runtime's own DNS


def test_a_volume_mounted_at_etc_resolv_conf_wins() -> None:
    container = {"name": "app", "volumeMounts": [{"name": "dns", "mountPath": "/etc/resolv.conf", "subPath": "r"}]}
    config = build(container, resolv_conf=RESOLV, volumes={"dns": VolumeSource("bind", "/s/dns")})
    assert config.mounts == (Mount("/etc/resolv.conf", "/s/dns", "bind", sub_path="r"),)


SETTINGS = RuntimeSettings(cluster="c", node="n")


def docker_body(spec: dict[str, Any], *, solo: bool) -> dict[str, Any]:
    """The Docker create body of the pod's container, as docker.py builds it."""
    dns = pod_dns(spec)
    path = RESOLV if dns.resolv_conf is not None else ""
    config = build({"name": "app", "image": "busybox"}, resolv_conf=path)
    sconfig = sandbox_config(pod(spec), "u-1", solo_pods=solo, dns=dns)
    sandbox = SandboxState("solo-u-1" if solo else "sb", "dev", "web", "u-1", "10.244.0.5", True,
                           sconfig if solo else None)
    mounts = [mount_spec(m, base_labels(SETTINGS)) for m in config.mounts]
    return container_spec(SETTINGS, sandbox, config, mounts, [])


@pytest.mark.parametrize("solo", [True, False])
def test_docker_gets_the_resolv_conf_bind_for_cluster_first_with_cluster_dns(solo: bool) -> None:
    body = docker_body({}, solo=solo)
    assert body["HostConfig"]["Mounts"] == [
        {"Type": "bind", "Source": RESOLV, "Target": "/etc/resolv.conf", "ReadOnly": True}]


@pytest.mark.parametrize("solo", [True, False])
def test_docker_gets_no_resolv_conf_for_default_but_the_search_path_as_before(solo: bool) -> None:
    body = docker_body({"dnsPolicy": "Default"}, solo=solo)
    assert body["HostConfig"]["Mounts"] == []
    if solo:  # the container is on the network itself: Docker's resolver, the cluster search path
        assert body["HostConfig"]["DnsSearch"] == list(SEARCH)
    assert sandbox_spec(SETTINGS, sandbox_config(pod({"dnsPolicy": "Default"}), "u-1", solo_pods=False,
                                                 dns=pod_dns({"dnsPolicy": "Default"})))["HostConfig"][
        "DnsSearch"] == list(SEARCH)
