"""Pod volumes as runtime mounts.

configMap / secret / downwardAPI / projected volumes become files under
`<state_dir>/pods/<uid>/volumes/<name>/`, bind-mounted read-only; emptyDir is a named runtime
volume per pod (tmpfs for medium Memory); persistentVolumeClaim a named volume per claim that
outlives the pod; hostPath a bind of the host folder. `project_files` is pure; the rest does I/O.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from boxk8s.kubelet.env import ConfigError, configmap_data, expand, field_value, resource_value, secret_data
from boxk8s.kubelet.runtime.base import ContainerRuntime, Mount

Files = dict[str, tuple[bytes, int]]  # relative path → (content, mode)
DEFAULT_MODE = 0o644


class VolumeError(Exception):
    """A volume cannot be set up (the pod waits in ContainerCreating, event FailedMount)."""

    def __init__(self, volume: str, message: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {message}')
        self.volume = volume


@dataclass(frozen=True)
class VolumeSource:
    kind: Literal["bind", "volume", "tmpfs"]
    source: str
    read_only: bool = False


def empty_dir_name(cluster: str, pod_uid: str, volume: str) -> str:
    return f"boxk8s-{cluster}-{pod_uid[:8]}-{volume}"


def claim_volume_name(cluster: str, namespace: str, claim: str) -> str:
    return f"boxk8s-{cluster}-pvc-{namespace}-{claim}"


def pod_dir(state_dir: Path, pod_uid: str) -> Path:
    return state_dir / "pods" / pod_uid


def resolv_conf_path(state_dir: Path, pod_uid: str) -> Path:
    """The pod's resolv.conf (kubelet/dns.py), mounted into its containers: an absolute path."""
    return pod_dir(state_dir, pod_uid).resolve() / "etc-resolv.conf"


# ---- file projection (pure) ------------------------------------------------------------------

def _keyed(data: Mapping[str, bytes], items: list[Mapping[str, Any]] | None, default_mode: int,
           missing: str) -> Files:
    if not items:
        return {k: (v, default_mode) for k, v in data.items()}
    out: Files = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            raise ConfigError(f"{missing}: {key}")
        out[item.get("path") or key] = (data[key], int(item.get("mode", default_mode)))
    return out


def _downward(items: list[Mapping[str, Any]] | None, pod: Mapping[str, Any], default_mode: int,
              pod_ip: str, host_ip: str) -> Files:
    out: Files = {}
    spec = pod.get("spec") or {}
    containers = {c["name"]: c for c in spec.get("containers") or []}
    for item in items or []:
        mode = int(item.get("mode", default_mode))
        if item.get("fieldRef"):
            text = field_value(pod, item["fieldRef"].get("fieldPath", ""), pod_ip=pod_ip, host_ip=host_ip)
        elif item.get("resourceFieldRef"):
            ref = item["resourceFieldRef"]
            text = resource_value(containers.get(ref.get("containerName", ""), {}), ref, {})
        else:
            continue
        out[item.get("path", "")] = (text.encode(), mode)
    return out


def _keyed_source(src: Mapping[str, Any], obj: Mapping[str, Any] | None, name: str, kind: str,
                  data: Callable[[Mapping[str, Any]], dict[str, bytes]], key_word: str) -> Files:
    """A configMap or secret source's files; {} when it is missing but optional."""
    mode = int(src.get("defaultMode", DEFAULT_MODE))
    if obj is None:
        if src.get("optional"):
            return {}
        raise ConfigError(f'{kind} "{name}" not found')
    return _keyed(data(obj), src.get("items"), mode, f"{kind} references non-existent {key_word} key")


def project_files(volume: Mapping[str, Any], pod: Mapping[str, Any], *,
                  configmaps: Mapping[str, Mapping[str, Any] | None],
                  secrets: Mapping[str, Mapping[str, Any] | None],
                  pod_ip: str = "", host_ip: str = "",
                  tokens: Mapping[tuple[str, int], bytes] | None = None) -> Files | None:
    """The files of a configMap/secret/downwardAPI/projected volume; None for other kinds.
    `tokens`: the ServiceAccount tokens of the projected sources, by (volume, source index).

    Raises ConfigError with upstream's message for a missing, non-optional source.
    """
    if volume.get("configMap") is not None:
        src = volume["configMap"]
        return _keyed_source(src, configmaps.get(src.get("name", "")), src.get("name", ""), "configmap",
                             configmap_data, "config")
    if volume.get("secret") is not None:
        src = volume["secret"]
        return _keyed_source(src, secrets.get(src.get("secretName", "")), src.get("secretName", ""), "secret",
                             secret_data, "secret")
    if volume.get("downwardAPI") is not None:
        src = volume["downwardAPI"]
        return _downward(src.get("items"), pod, int(src.get("defaultMode", DEFAULT_MODE)), pod_ip, host_ip)
    if volume.get("projected") is not None:
        proj = volume["projected"]
        mode = int(proj.get("defaultMode", DEFAULT_MODE))
        out: Files = {}
        for index, source in enumerate(proj.get("sources") or []):
            if source.get("configMap") is not None:
                out.update(project_files({"configMap": {"defaultMode": mode, **source["configMap"]}}, pod,
                                         configmaps=configmaps, secrets=secrets) or {})
            elif source.get("secret") is not None:
                s = dict(source["secret"])
                s["secretName"] = s.pop("name", "")
                out.update(project_files({"secret": {"defaultMode": mode, **s}}, pod,
                                         configmaps=configmaps, secrets=secrets) or {})
            elif source.get("downwardAPI") is not None:
                out.update(_downward(source["downwardAPI"].get("items"), pod, mode, pod_ip, host_ip))
            elif source.get("serviceAccountToken") is not None:
                token = (tokens or {}).get((volume.get("name", ""), index), b"")  # kubelet/tokens.py
                out[source["serviceAccountToken"].get("path") or "token"] = (token, mode)
        return out
    return None


# ---- I/O -------------------------------------------------------------------------------------

def write_file(target: Path, content: bytes, mode: int = DEFAULT_MODE) -> None:
    """Write one file atomically (a reader sees the old content or the new, never a part)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    os.chmod(tmp, mode & 0o777)
    os.replace(tmp, target)


def write_files(directory: Path, files: Files) -> None:
    """Make `directory` hold exactly `files` (written atomically one by one)."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for rel, (content, mode) in files.items():
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            raise ConfigError(f"invalid path {rel!r}: must be relative and must not contain '..'")
        target = directory / rel_path
        write_file(target, content, mode)
        wanted.add(target)
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _host_path(volume: str, src: Mapping[str, Any]) -> VolumeSource:
    path = Path(src.get("path", ""))
    kind = src.get("type") or ""
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    elif kind == "Directory" and not path.is_dir():
        raise VolumeError(volume, f"hostPath type check failed: {path} is not a directory")
    elif kind == "File" and not path.is_file():
        raise VolumeError(volume, f"hostPath type check failed: {path} is not a file")
    return VolumeSource("bind", str(path))


async def prepare_volumes(pod: Mapping[str, Any], runtime: ContainerRuntime, *, state_dir: Path, cluster: str,
                          configmaps: Mapping[str, Mapping[str, Any] | None],
                          secrets: Mapping[str, Mapping[str, Any] | None],
                          pod_ip: str = "", host_ip: str = "",
                          tokens: Mapping[tuple[str, int], bytes] | None = None) -> dict[str, VolumeSource]:
    """Set up every volume of the pod; raises VolumeError."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    if not volumes:
        return {}
    md = pod.get("metadata") or {}
    uid, ns = md.get("uid", ""), md.get("namespace", "default")
    base = pod_dir(state_dir, uid).resolve() / "volumes"
    out: dict[str, VolumeSource] = {}
    for v in volumes:
        name = v.get("name", "")
        try:
            files = project_files(v, pod, configmaps=configmaps, secrets=secrets, pod_ip=pod_ip, host_ip=host_ip,
                                  tokens=tokens)
            if files is not None:
                write_files(base / name, files)
                out[name] = VolumeSource("bind", str(base / name), read_only=True)
            elif v.get("emptyDir") is not None:
                if (v["emptyDir"] or {}).get("medium") == "Memory":
                    out[name] = VolumeSource("tmpfs", "")
                else:
                    out[name] = VolumeSource("volume", await runtime.ensure_volume(empty_dir_name(cluster, uid, name)))
            elif v.get("persistentVolumeClaim") is not None:
                pvc = v["persistentVolumeClaim"]
                vol = await runtime.ensure_volume(claim_volume_name(cluster, ns, pvc.get("claimName", "")))
                out[name] = VolumeSource("volume", vol, read_only=bool(pvc.get("readOnly")))
            elif v.get("hostPath") is not None:
                out[name] = _host_path(name, v["hostPath"])
            else:
                out[name] = VolumeSource("tmpfs", "")  # an unsupported kind: an empty scratch space
        except ConfigError as e:
            raise VolumeError(name, str(e)) from e
        except OSError as e:
            raise VolumeError(name, str(e)) from e
    return out


def write_token(state_dir: Path, pod: Mapping[str, Any], volume: str, path: str, token: bytes) -> None:
    """Put a refreshed token in its projected volume (atomically: a reader sees the old or the new)."""
    md = pod.get("metadata") or {}
    spec = next((v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name") == volume), {})
    mode = int((spec.get("projected") or {}).get("defaultMode", DEFAULT_MODE))
    write_file(pod_dir(state_dir, md.get("uid", "")).resolve() / "volumes" / volume / path, token, mode)


async def cleanup_volumes(pod: Mapping[str, Any] | None, pod_uid: str, runtime: ContainerRuntime, *,
                          state_dir: Path, cluster: str) -> None:
    """Drop a finished pod's files and emptyDir volumes (claims outlive pods)."""
    for v in ((pod or {}).get("spec") or {}).get("volumes") or []:
        if v.get("emptyDir") is not None and (v["emptyDir"] or {}).get("medium") != "Memory":
            with contextlib.suppress(Exception):
                await runtime.remove_volume(empty_dir_name(cluster, pod_uid, v.get("name", "")))
    shutil.rmtree(pod_dir(state_dir, pod_uid), ignore_errors=True)


def container_mounts(container: Mapping[str, Any], volumes: Mapping[str, VolumeSource],
                     env: Mapping[str, str] | None = None) -> tuple[Mount, ...]:
    out = []
    for vm in container.get("volumeMounts") or []:
        src = volumes.get(vm.get("name", ""))
        if src is None:
            continue
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(vm["subPathExpr"], env or {})
        out.append(Mount(target=vm.get("mountPath", ""), source=src.source, kind=src.kind,
                         read_only=bool(vm.get("readOnly")) or src.read_only, sub_path=sub))
    return tuple(out)
