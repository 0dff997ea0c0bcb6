"""Volume file projection (items, modes) and mounts."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from boxk8s.kubelet.env import ConfigError
from boxk8s.kubelet.runtime.base import Mount, RuntimeSettings
from boxk8s.kubelet.runtime.fake import FakeRuntime
from boxk8s.kubelet.volumes import (
    VolumeError,
    VolumeSource,
    container_mounts,
    prepare_volumes,
    project_files,
    write_files,
)

POD: dict[str, Any] = {"metadata": {"name": "web", "namespace": "dev", "uid": "abcdef123456", "labels": {"a": "1"}},
                       "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"}}}]}}
CMS = {"cfg": {"data": {"a.conf": "A", "b.conf": "B"}}}
SECRETS = {"sec": {"data": {"token": base64.b64encode(b"t0k").decode()}}}


def files(volume: dict[str, Any]) -> Any:
    return project_files(volume, POD, configmaps={**CMS, "gone": None}, secrets={**SECRETS, "gone": None},
                         pod_ip="10.0.0.1")


def test_configmap_all_keys_default_mode() -> None:
    assert files({"configMap": {"name": "cfg"}}) == {"a.conf": (b"A", 0o644), "b.conf": (b"B", 0o644)}


def test_items_paths_and_modes() -> None:
    got = files({"configMap": {"name": "cfg", "defaultMode": 0o600,
                               "items": [{"key": "a.conf", "path": "dir/x.conf"},
                                         {"key": "b.conf", "path": "y", "mode": 0o755}]}})
    assert got == {"dir/x.conf": (b"A", 0o600), "y": (b"B", 0o755)}


def test_secret_decoded() -> None:
    assert files({"secret": {"secretName": "sec"}}) == {"token": (b"t0k", 0o644)}


def test_missing_sources() -> None:
    with pytest.raises(ConfigError, match='configmap "gone" not found'):
        files({"configMap": {"name": "gone"}})
    with pytest.raises(ConfigError, match='secret "gone" not found'):
        files({"secret": {"secretName": "gone"}})
    assert files({"configMap": {"name": "gone", "optional": True}}) == {}
    with pytest.raises(ConfigError, match="non-existent config key: zz"):
        files({"configMap": {"name": "cfg", "items": [{"key": "zz", "path": "z"}]}})


def test_downward_and_projected() -> None:
    got = files({"downwardAPI": {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory",
                                             "divisor": "1Mi"}}]}})
    assert got == {"name": (b"web", 0o644), "labels": (b'a="1"', 0o644), "mem": (b"32", 0o644)}
    got = files({"projected": {"defaultMode": 0o400, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "a.conf", "path": "a"}]}},
        {"secret": {"name": "sec"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}})
    assert got == {"a": (b"A", 0o400), "token": (b"t0k", 0o400), "ns": (b"dev", 0o400)}


def test_write_files_modes_and_stale(tmp_path: Path) -> None:
    write_files(tmp_path / "v", {"a": (b"1", 0o600), "d/b": (b"2", 0o755)})
    assert (tmp_path / "v" / "a").read_bytes() == b"1"
    assert stat.S_IMODE((tmp_path / "v" / "a").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "v" / "d" / "b").stat().st_mode) == 0o755
    write_files(tmp_path / "v", {"a": (b"3", 0o644)})
    assert not (tmp_path / "v" / "d").exists()
    with pytest.raises(ConfigError):
        write_files(tmp_path / "v", {"../escape": (b"", 0o644)})


async def test_prepare_volumes(tmp_path: Path) -> None:
    rt = FakeRuntime(RuntimeSettings(cluster="c1"))
    pod = {**POD, "spec": {**POD["spec"], "volumes": [
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "mem", "emptyDir": {"medium": "Memory"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "db"}},
        {"name": "host", "hostPath": {"path": str(tmp_path / "host"), "type": "DirectoryOrCreate"}},
    ]}}
    vols = await prepare_volumes(pod, rt, state_dir=tmp_path / "state", cluster="c1", configmaps=CMS, secrets={})
    cfg_dir = (tmp_path / "state").resolve() / "pods" / "abcdef123456" / "volumes" / "cfg"
    assert vols["cfg"] == VolumeSource("bind", str(cfg_dir), read_only=True)
    assert (cfg_dir / "a.conf").read_text() == "A"
    assert vols["scratch"] == VolumeSource("volume", "boxk8s-c1-abcdef12-scratch")
    assert vols["mem"] == VolumeSource("tmpfs", "")
    assert vols["data"] == VolumeSource("volume", "boxk8s-c1-pvc-dev-db")
    assert vols["host"].source == str(tmp_path / "host") and (tmp_path / "host").is_dir()
    assert rt.volumes == {"boxk8s-c1-abcdef12-scratch", "boxk8s-c1-pvc-dev-db"}
    mounts = container_mounts({"volumeMounts": [
        {"name": "cfg", "mountPath": "/etc/app/a.conf", "subPath": "a.conf"},
        {"name": "data", "mountPath": "/data", "subPathExpr": "$(POD)"},
        {"name": "scratch", "mountPath": "/tmp", "readOnly": True}]}, vols, {"POD": "web"})
    assert mounts == (Mount("/etc/app/a.conf", str(cfg_dir), "bind", True, "a.conf"),
                      Mount("/data", "boxk8s-c1-pvc-dev-db", "volume", False, "web"),
                      Mount("/tmp", "boxk8s-c1-abcdef12-scratch", "volume", True, ""))


async def test_prepare_volumes_missing_configmap(tmp_path: Path) -> None:
    rt = FakeRuntime()
    pod = {**POD, "spec": {**POD["spec"], "volumes": [{"name": "cfg", "configMap": {"name": "x"}}]}}
    with pytest.raises(VolumeError, match='MountVolume.SetUp failed for volume "cfg" : configmap "x" not found'):
        await prepare_volumes(pod, rt, state_dir=tmp_path, cluster="c", configmaps={"x": None}, secrets={})
