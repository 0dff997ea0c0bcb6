"""Table printers for services, networking, config, storage, nodes, events and leases.

Cell for cell what kubernetes `pkg/printers/internalversion/printers.go` prints; the server
always prints the wide columns and kubectl drops priority-1 columns unless `-o wide`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boxk8s.resources.selectors import format_labels
from boxk8s.resources.tables_common import (
    AGE,
    NAME,
    NAME_DOC,
    Cell,
    Column,
    Obj,
    Printer,
    age,
    col,
    dig,
    list_with_more,
    meta,
    name,
    parse_time,
    since,
    spec,
    status,
)

# --- Service ----------------------------------------------------------------------------------


def _load_balancer_ips(lb_status: Obj) -> list[str]:
    """loadBalancerStatusStringer with wide=true: sorted unique IPs or hostnames."""
    found = {i.get("ip") or i.get("hostname") for i in lb_status.get("ingress") or []}
    return sorted(x for x in found if x)


def service_external_ip(svc: Obj) -> str:
    svc_type = spec(svc).get("type", "ClusterIP")
    external = spec(svc).get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if svc_type == "LoadBalancer":
        ips = _load_balancer_ips(dig(svc, "status", "loadBalancer", default={})) + list(external)
        return ",".join(ips) or "<pending>"
    if svc_type == "ExternalName":
        return spec(svc).get("externalName", "")
    return "<unknown>"


def service_ports(svc: Obj) -> str:
    """makePortString: `80/TCP`, or `80:30080/TCP` when a node port is allocated."""
    pieces = []
    for p in spec(svc).get("ports") or []:
        protocol = p.get("protocol", "TCP")
        node_port = p.get("nodePort") or 0
        pieces.append(f"{p.get('port')}:{node_port}/{protocol}" if node_port > 0 else f"{p.get('port')}/{protocol}")
    return ",".join(pieces) or "<none>"


def _cluster_ip(svc: Obj) -> str:
    ips = spec(svc).get("clusterIPs") or []
    return (ips[0] if ips else spec(svc).get("clusterIP")) or "<none>"


def _service_row(svc: Obj, now: datetime) -> list[Cell]:
    return [
        name(svc), spec(svc).get("type", "ClusterIP"), _cluster_ip(svc), service_external_ip(svc),
        service_ports(svc), age(svc, now), format_labels(spec(svc).get("selector")),
    ]


SERVICE = Printer(
    (
        NAME,
        col("Type", "type determines how the Service is exposed."),
        col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
        col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
            "accept traffic for this service."),
        col("Port(s)", "The list of ports that are exposed by this service."),
        AGE,
        col("Selector", "Route service traffic to pods with label keys and values matching this selector.",
            wide=True),
    ),
    _service_row,
)

# --- Endpoints, EndpointSlice -----------------------------------------------------------------


def format_endpoints(ep: Obj) -> str:
    """formatEndpoints: up to three `ip:port` entries, then `+ N more...`."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    entries: list[str] = []
    for ss in subsets:
        addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:
            entries += addresses
            continue
        for port in ports:
            entries += [_join_host_port(ip, port.get("port", 0)) for ip in addresses]
    shown = ",".join(entries[:3])
    return f"{shown} + {len(entries) - 3} more..." if len(entries) > 3 else shown


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _endpoints_row(ep: Obj, now: datetime) -> list[Cell]:
    return [name(ep), format_endpoints(ep), age(ep, now)]


ENDPOINTS = Printer(
    (NAME, col("Endpoints", "The set of all endpoints is the union of all subsets."), AGE),
    _endpoints_row,
)


def _slice_ports(obj: Obj) -> str:
    ports = []
    for p in obj.get("ports") or []:
        ports.append(str(p["port"]) if p.get("port") is not None else p.get("name") or "*")
    return list_with_more(ports)


def _slice_endpoints(obj: Obj) -> str:
    return list_with_more([a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []])


def _endpointslice_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), obj.get("addressType", ""), _slice_ports(obj), _slice_endpoints(obj), age(obj, now)]


ENDPOINTSLICE = Printer(
    (
        NAME,
        col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
        col("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
        col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
        AGE,
    ),
    _endpointslice_row,
)

# --- ConfigMap, Secret, ServiceAccount, Namespace, Lease --------------------------------------


def _configmap_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age(obj, now)]


CONFIGMAP = Printer(
    (NAME, col("Data", "Data contains the configuration data."), AGE),
    _configmap_row,
)


def _secret_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), obj.get("type", "Opaque"), len(obj.get("data") or {}), age(obj, now)]


SECRET = Printer(
    (
        NAME,
        col("Type", "Used to facilitate programmatic handling of secret data."),
        col("Data", "Data contains the secret data."),
        AGE,
    ),
    _secret_row,
)


def _serviceaccount_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), len(obj.get("secrets") or []), age(obj, now)]


SERVICEACCOUNT = Printer(
    (NAME, col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
               "using this ServiceAccount are allowed to use."), AGE),
    _serviceaccount_row,
)


def _namespace_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), status(obj).get("phase", ""), age(obj, now)]


NAMESPACE = Printer((NAME, col("Status", "The status of the namespace"), AGE), _namespace_row)


def _lease_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), spec(obj).get("holderIdentity") or "", age(obj, now)]


LEASE = Printer(
    (NAME, col("Holder", "holderIdentity contains the identity of the holder of a current lease."), AGE),
    _lease_row,
)

# --- Node -------------------------------------------------------------------------------------

_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def node_status(node: Obj) -> str:
    ready = [c for c in status(node).get("conditions") or [] if c.get("type") == "Ready"]
    states = [("Ready" if c.get("status") == "True" else "NotReady") for c in ready[-1:]] or ["Unknown"]
    if spec(node).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: Obj) -> str:
    roles = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(_ROLE_PREFIX) and key[len(_ROLE_PREFIX):]:
            roles.add(key[len(_ROLE_PREFIX):])
        elif key == _ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for a in status(node).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", "")
    return "<none>"


def _node_row(node: Obj, now: datetime) -> list[Cell]:
    info = status(node).get("nodeInfo") or {}
    return [
        name(node), node_status(node), node_roles(node), age(node, now), info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


ADDRESSES_DOC = "List of addresses reachable to the node."

NODE = Printer(
    (
        NAME,
        col("Status", "The status of the node"),
        col("Roles", "The roles of the node"),
        AGE,
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", ADDRESSES_DOC, wide=True),
        col("External-IP", ADDRESSES_DOC, wide=True),
        col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
            "(wheezy)).", wide=True),
        col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. "
            "3.16.0-0.bpo.4-amd64).", wide=True),
        col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote "
            "API (e.g. containerd://1.4.2).", wide=True),
    ),
    _node_row,
)

# --- Event ------------------------------------------------------------------------------------


def _as_core_event(ev: Obj) -> Obj:
    """events.k8s.io/v1 Events are printed by the same printer as core/v1 ones."""
    if "regarding" not in ev and "note" not in ev and "deprecatedSource" not in ev:
        return ev
    return {
        **ev,
        "involvedObject": ev.get("regarding") or {},
        "message": ev.get("note", ""),
        "source": ev.get("deprecatedSource") or {},
        "firstTimestamp": ev.get("deprecatedFirstTimestamp"),
        "lastTimestamp": ev.get("deprecatedLastTimestamp"),
        "count": ev.get("deprecatedCount") or 0,
        "reportingComponent": ev.get("reportingController", ""),
    }


def _event_source(ev: Obj) -> str:
    component = dig(ev, "source", "component") or ev.get("reportingComponent") or ""
    instance = dig(ev, "source", "host") or ev.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def _event_times(ev: Obj, now: datetime) -> tuple[str, str, int]:
    """(last seen, first seen, count) with the fallbacks printEvent applies."""
    first_raw = ev.get("firstTimestamp") if parse_time(ev.get("firstTimestamp")) else ev.get("eventTime")
    first = since(first_raw, now)
    last = since(ev.get("lastTimestamp"), now) if parse_time(ev.get("lastTimestamp")) else first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    return last, first, count


def _event_row(raw: Obj, now: datetime) -> list[Cell]:
    ev = _as_core_event(raw)
    involved: dict[str, Any] = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    last, first, count = _event_times(ev, now)
    return [
        last, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""),
        _event_source(ev), (ev.get("message") or "").strip(), first, count, name(ev),
    ]


EVENT = Printer(
    (
        col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        col("Reason", "This should be a short, machine understandable string that gives the reason for "
            "the transition into the object's current status."),
        col("Object", "The object that this event is about."),
        col("Subobject", "If referring to a piece of an object instead of an entire object, this string "
            "should contain a valid JSON/Go field access statement.", wide=True),
        col("Source", "The component reporting this event.", wide=True),
        col("Message", "A human-readable description of the status of this operation."),
        col("First Seen", "The time at which the event was first recorded.", wide=True),
        col("Count", "The number of times this event has occurred.", wide=True),
        Column("Name", description=NAME_DOC, priority=1, format="name"),
    ),
    _event_row,
)

# --- Ingress, IngressClass --------------------------------------------------------------------


def ingress_hosts(ing: Obj) -> str:
    """formatHosts: the first three hosts, then `+ N more...` counted over all rules."""
    rules = spec(ing).get("rules") or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    return f"{','.join(hosts)} + {len(rules) - 3} more..." if more else ",".join(hosts)


def _ingress_row(ing: Obj, now: datetime) -> list[Cell]:
    address = ",".join(_load_balancer_ips(dig(ing, "status", "loadBalancer", default={})))
    ports = "80, 443" if spec(ing).get("tls") else "80"
    return [name(ing), spec(ing).get("ingressClassName") or "<none>", ingress_hosts(ing), address, ports,
            age(ing, now)]


INGRESS = Printer(
    (
        NAME,
        col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
        col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        col("Address", "Address is a list containing ingress points for the load-balancer"),
        col("Ports", "Ports of TLS configurations that open"),
        AGE,
    ),
    _ingress_row,
)


def _ingressclass_params(obj: Obj) -> str:
    params = spec(obj).get("parameters")
    if not params:
        return "<none>"
    kind = params.get("kind", "")
    if params.get("apiGroup") is not None:
        kind += "." + params["apiGroup"]
    return f"{kind}/{params.get('name', '')}"


def _ingressclass_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), spec(obj).get("controller", ""), _ingressclass_params(obj), age(obj, now)]


INGRESSCLASS = Printer(
    (
        NAME,
        col("Controller", "Controller that is responsible for handling this class"),
        col("Parameters", "A reference to a resource with additional parameters"),
        AGE,
    ),
    _ingressclass_row,
)

# --- PersistentVolume, PersistentVolumeClaim --------------------------------------------------

_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[str] | None) -> str:
    present = set(modes or [])
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _storage_class(obj: Obj) -> str:
    annotations = meta(obj).get("annotations") or {}
    if _STORAGE_CLASS_ANNOTATION in annotations:
        return annotations[_STORAGE_CLASS_ANNOTATION]
    return spec(obj).get("storageClassName") or ""


def _phase(obj: Obj) -> str:
    return "Terminating" if meta(obj).get("deletionTimestamp") else status(obj).get("phase", "")


def _pv_row(pv: Obj, now: datetime) -> list[Cell]:
    ref = spec(pv).get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [
        name(pv), str(dig(pv, "spec", "capacity", "storage", default="0")),
        access_modes(spec(pv).get("accessModes")), spec(pv).get("persistentVolumeReclaimPolicy", ""),
        _phase(pv), claim, _storage_class(pv), spec(pv).get("volumeAttributesClassName") or "<unset>",
        status(pv).get("reason", ""), age(pv, now), spec(pv).get("volumeMode") or "<unset>",
    ]


PV = Printer(
    (
        NAME,
        col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
        col("Access Modes", "accessModes contains all ways the volume can be mounted."),
        col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume "
            "when released from its claim."),
        col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
        col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and "
            "PersistentVolumeClaim."),
        col("StorageClass", "StorageClass of the pv"),
        col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        col("Reason", "reason is a brief CamelCase string that describes any failure and is meant for "
            "machine parsing and tidy display in the CLI."),
        AGE,
        col("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted "
            "filesystem or to remain in raw block state.", wide=True),
    ),
    _pv_row,
)


def _pvc_row(pvc: Obj, now: datetime) -> list[Cell]:
    volume = spec(pvc).get("volumeName") or ""
    capacity = str(dig(pvc, "status", "capacity", "storage", default="0")) if volume else ""
    modes = access_modes(status(pvc).get("accessModes")) if volume else ""
    return [
        name(pvc), _phase(pvc), volume, capacity, modes, _storage_class(pvc),
        spec(pvc).get("volumeAttributesClassName") or "<unset>", age(pvc, now),
        spec(pvc).get("volumeMode") or "<unset>",
    ]


PVC = Printer(
    (
        NAME,
        col("Status", "phase represents the current phase of PersistentVolumeClaim."),
        col("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
        col("Capacity", "capacity represents the actual resources of the underlying volume."),
        col("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
        col("StorageClass", "StorageClass of the pvc"),
        col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        col("VolumeMode", "volumeMode defines what type of volume is required by the claim.", wide=True),
    ),
    _pvc_row,
)
