"""A container's environment as Kubernetes builds it: envFrom, then env, with $(VAR) expansion.

Pure: ConfigMaps and Secrets come in as dicts fetched by the worker (None when missing).
"""

from __future__ import annotations

import base64
import math
import re
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from boxk8s.resources.quantity import parse_quantity

Obj = dict[str, Any]
_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError); message as upstream's."""


def referenced(pod: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """Names of the ConfigMaps and Secrets the pod's env, envFrom and volumes use."""
    cms: set[str] = set()
    secrets: set[str] = set()
    spec = pod.get("spec") or {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for e in c.get("envFrom") or []:
            if e.get("configMapRef"):
                cms.add(e["configMapRef"].get("name", ""))
            if e.get("secretRef"):
                secrets.add(e["secretRef"].get("name", ""))
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if vf.get("configMapKeyRef"):
                cms.add(vf["configMapKeyRef"].get("name", ""))
            if vf.get("secretKeyRef"):
                secrets.add(vf["secretKeyRef"].get("name", ""))
    for v in spec.get("volumes") or []:
        if v.get("configMap"):
            cms.add(v["configMap"].get("name", ""))
        if v.get("secret"):
            secrets.add(v["secret"].get("secretName", ""))
        for src in (v.get("projected") or {}).get("sources") or []:
            if src.get("configMap"):
                cms.add(src["configMap"].get("name", ""))
            if src.get("secret"):
                secrets.add(src["secret"].get("name", ""))
    cms.discard("")
    secrets.discard("")
    return cms, secrets


def configmap_data(cm: Mapping[str, Any]) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v)
    return out


def secret_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    out = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v).encode()
    return out


MASTER_SERVICES = ("kubernetes",)  # the default namespace's Services every pod gets, links or not


def _env_name(name: str) -> str:
    """makeEnvVariableName."""
    return name.replace("-", "_").upper()


def service_links(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """envvars.FromServices for one Service: NAME_SERVICE_HOST, NAME_SERVICE_PORT(_PORTNAME) and
    the Docker-link variables NAME_PORT, NAME_PORT_<port>_<PROTO>(_PROTO|_PORT|_ADDR)."""
    spec = service.get("spec") or {}
    ip = spec.get("clusterIP") or ""
    ports = spec.get("ports") or []
    if ip in ("", "None") or not ports:
        return []
    prefix = _env_name(service["metadata"]["name"])
    out = [(f"{prefix}_SERVICE_HOST", ip), (f"{prefix}_SERVICE_PORT", str(ports[0].get("port")))]
    out += [(f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}", str(p.get("port"))) for p in ports if p.get("name")]
    host = f"[{ip}]" if ":" in ip else ip
    for i, p in enumerate(ports):
        proto = (p.get("protocol") or "TCP").upper()
        url = f"{proto.lower()}://{host}:{p.get('port')}"
        if i == 0:
            out.append((f"{prefix}_PORT", url))
        base = f"{prefix}_PORT_{p.get('port')}_{proto}"
        out += [(base, url), (f"{base}_PROTO", proto.lower()), (f"{base}_PORT", str(p.get("port"))), (f"{base}_ADDR", ip)]
    return out


def service_env(services: list[Mapping[str, Any]], namespace: str, enable_links: bool) -> dict[str, str]:
    """kubelet's getServiceEnvVarMap: the `kubernetes` Service of the default namespace always, and
    with enableServiceLinks every Service of the pod's namespace."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        md = svc.get("metadata") or {}
        name, ns = md.get("name", ""), md.get("namespace", "")
        if ns == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_links:
            chosen[name] = svc
    return {k: v for svc in chosen.values() for k, v in service_links(svc)}


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: $$ escapes, unknown references stay as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    if name in env:
                        out.append(env[name])
                    else:
                        out.append(text[i:end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def field_value(pod: Mapping[str, Any], path: str, *, pod_ip: str = "", host_ip: str = "") -> str:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if m:
        return str((md.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", "default"),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        items = md.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise ConfigError(f"unsupported fieldRef fieldPath: {path}")


def resource_value(container: Mapping[str, Any], ref: Mapping[str, Any], node_allocatable: Mapping[str, str]) -> str:
    """resourceFieldRef: limits fall back to the node's allocatable, requests to 0 (cpu 1 when rounded)."""
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    res = (container.get("resources") or {}).get(kind) or {}
    raw = res.get(name)
    if raw is None and kind == "limits":
        raw = node_allocatable.get(name)
    if raw is None and kind == "requests" and name in ("cpu", "memory"):
        raw = (container.get("resources") or {}).get("limits", {}).get(name)
    if raw is None:
        raw = "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    value = parse_quantity(raw) / (divisor or 1)
    return str(math.ceil(value))


def resolve_env(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                configmaps: Mapping[str, Mapping[str, Any] | None],
                secrets: Mapping[str, Mapping[str, Any] | None],
                pod_ip: str = "", host_ip: str = "",
                node_allocatable: Mapping[str, str] | None = None,
                services: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The final (name, value) list, in Kubernetes' order and with its error messages: the
    container's own variables, then the Service variables (`services`, from `service_env`) it does
    not set, which its values may also reference as $(VAR)."""
    ns = (pod.get("metadata") or {}).get("namespace", "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if source.get("configMapRef"):
            ref = source["configMapRef"]
            cm = configmaps.get(ref.get("name", ""))
            if cm is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'configmap "{ref.get("name", "")}" not found')
            items = {k: v.decode(errors="replace") for k, v in configmap_data(cm).items()}
        elif source.get("secretRef"):
            ref = source["secretRef"]
            sec = secrets.get(ref.get("name", ""))
            if sec is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'secret "{ref.get("name", "")}" not found')
            items = {k: v.decode(errors="replace") for k, v in secret_data(sec).items()}
        else:
            continue
        for k, v in items.items():
            name = prefix + k
            if _C_IDENTIFIER.match(name) or re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", name):
                env[name] = v  # invalid names are skipped, as upstream does (with an event)
    for e in container.get("env") or []:
        name = e.get("name", "")
        vf = e.get("valueFrom")
        if not vf:
            env[name] = expand(str(e.get("value", "")), ChainMap(env, dict(services or {})))
            continue
        if vf.get("configMapKeyRef") or vf.get("secretKeyRef"):
            is_cm = bool(vf.get("configMapKeyRef"))
            ref = vf["configMapKeyRef"] if is_cm else vf["secretKeyRef"]
            value = _key_ref(ref, configmaps if is_cm else secrets, is_cm, ns)
            if value is not None:
                env[name] = value
        elif vf.get("fieldRef"):
            env[name] = field_value(pod, vf["fieldRef"].get("fieldPath", ""), pod_ip=pod_ip, host_ip=host_ip)
        elif vf.get("resourceFieldRef"):
            env[name] = resource_value(container, vf["resourceFieldRef"], node_allocatable or {})
    return list(env.items()) + [(k, v) for k, v in (services or {}).items() if k not in env]


def expand_command(args: list[str] | None, env: list[tuple[str, str]]) -> tuple[str, ...] | None:
    if args is None:
        return None
    mapping = dict(env)
    return tuple(expand(str(a), mapping) for a in args)


def _key_ref(ref: dict[str, Any], sources: dict[str, Any], is_configmap: bool, ns: str) -> str | None:
    """The value a configMapKeyRef / secretKeyRef names; None when it is optional and missing."""
    source = sources.get(ref.get("name", ""))
    kind, lower = ("ConfigMap", "configmap") if is_configmap else ("Secret", "secret")
    if source is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{lower} "{ref.get("name", "")}" not found')
    data = configmap_data(source) if is_configmap else secret_data(source)
    if ref.get("key") not in data:
        if ref.get("optional"):
            return None
        raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {ns}/{ref.get('name')}")
    return data[ref["key"]].decode(errors="replace")
