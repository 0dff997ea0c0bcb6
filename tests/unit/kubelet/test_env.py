"""Environment resolution and $(VAR) expansion, with upstream's messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from boxk8s.kubelet.env import ConfigError, expand, expand_command, referenced, resolve_env

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "dev", "uid": "u-1", "labels": {"app": "web"},
                 "annotations": {"note": "hi"}},
    "spec": {"nodeName": "n1", "serviceAccountName": "default", "containers": []},
}
CMS = {"cfg": {"data": {"A": "1", "B": "2", "bad key": "x"}}}
SECRETS = {"sec": {"data": {"PASSWORD": base64.b64encode(b"s3cret").decode()}}}


def env(container: dict[str, Any], **kw: Any) -> dict[str, str]:
    return dict(resolve_env(POD, container, configmaps=kw.get("cms", CMS), secrets=kw.get("secrets", SECRETS),
                            pod_ip="10.244.0.5", host_ip="172.18.0.1",
                            node_allocatable={"cpu": "2", "memory": "4Gi"}))


@pytest.mark.parametrize(("text", "vars_", "expected"), [
    ("$(A)", {"A": "1"}, "1"),
    ("x-$(A)-$(B)", {"A": "1", "B": "2"}, "x-1-2"),
    ("$(MISSING)", {}, "$(MISSING)"),
    ("$$(A)", {"A": "1"}, "$(A)"),
    ("$$", {}, "$"),
    ("$A", {"A": "1"}, "$A"),
    ("$(A", {"A": "1"}, "$(A"),
    ("tail$", {}, "tail$"),
])
def test_expand(text: str, vars_: dict[str, str], expected: str) -> None:
    assert expand(text, vars_) == expected


def test_values_refs_and_expansion_order() -> None:
    got = env({"env": [
        {"name": "FIRST", "value": "one"},
        {"name": "SECOND", "value": "$(FIRST)-two-$(LATER)"},
        {"name": "LATER", "value": "late"},
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "A"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASSWORD"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
    ], "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}})
    assert got["SECOND"] == "one-two-$(LATER)"  # only variables defined before expand
    assert got["FROM_CM"] == "1" and got["PW"] == "s3cret"
    assert (got["POD"], got["NS"], got["UID"], got["APP"], got["NOTE"]) == ("web", "dev", "u-1", "web", "hi")
    assert (got["NODE"], got["SA"], got["IP"], got["HOST"]) == ("n1", "default", "10.244.0.5", "172.18.0.1")
    assert got["MEM"] == "64" and got["CPU"] == "1"


def test_resource_limits_default_to_node_allocatable() -> None:
    got = env({"env": [{"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]})
    assert got["CPU"] == "2"


def test_env_from_with_prefix_and_override() -> None:
    got = env({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "sec"}}],
               "env": [{"name": "CFG_A", "value": "override"}]})
    assert got["CFG_A"] == "override" and got["CFG_B"] == "2" and got["PASSWORD"] == "s3cret"
    assert "CFG_bad key" not in got


@pytest.mark.parametrize(("container", "message"), [
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]},
     'configmap "nope" not found'),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]},
     'secret "nope" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "zz"}}}]},
     "couldn't find key zz in ConfigMap dev/cfg"),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "zz"}}}]},
     "couldn't find key zz in Secret dev/sec"),
    ({"envFrom": [{"configMapRef": {"name": "nope"}}]}, 'configmap "nope" not found'),
])
def test_missing_sources(container: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        env(container, cms={**CMS, "nope": None}, secrets={**SECRETS, "nope": None})
    assert str(exc.value) == message


def test_optional_sources_are_skipped() -> None:
    got = env({"env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "zz", "optional": True}}},
    ], "envFrom": [{"secretRef": {"name": "nope", "optional": True}}]}, cms={"nope": None},
        secrets={**SECRETS, "nope": None})
    assert got == {}


def test_command_expansion_and_references() -> None:
    assert expand_command(["echo", "$(A)", "$$(A)"], [("A", "1")]) == ("echo", "1", "$(A)")
    assert expand_command(None, []) is None
    pod = {"spec": {"containers": [{"envFrom": [{"configMapRef": {"name": "a"}}],
                                    "env": [{"name": "x", "valueFrom": {"secretKeyRef": {"name": "s"}}}]}],
                    "volumes": [{"name": "v", "configMap": {"name": "b"}},
                                {"name": "p", "projected": {"sources": [{"secret": {"name": "t"}}]}}]}}
    assert referenced(pod) == ({"a", "b"}, {"s", "t"})
