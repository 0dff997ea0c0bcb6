"""Table printers for the cluster-level kinds of core/v1 (ReplicationController, PodTemplate,
ResourceQuota, LimitRange, ComponentStatus), RBAC, storage, scheduling, node and certificates.

Cell for cell what kubernetes 1.32 `pkg/printers/internalversion/printers.go` prints; kinds it
has no handler for (Role, ClusterRole, LimitRange) get the apiserver's default table convertor
(apiserver/pkg/registry/rest/table.go): NAME and CREATED AT.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boxk8s.resources.definitions import definitions
from boxk8s.resources.selectors import format_labels
from boxk8s.resources.tables_common import (
    AGE,
    CONTAINERS,
    CREATED_DOC,
    IMAGES,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    age,
    col,
    dig,
    human_duration,
    layout_containers,
    meta,
    name,
    parse_time,
    spec,
    status,
    template_containers,
)


def doc(definition: str, field: str) -> str:
    """A field's description in the official definitions: what upstream's SwaggerDoc() returns."""
    props = definitions().get(definition, {}).get("properties") or {}
    return str((props.get(field) or {}).get("description") or "")


# --- the default table: Role, ClusterRole, LimitRange -----------------------------------------


def _created_at(obj: Obj) -> str:
    """m.GetCreationTimestamp().Time.UTC().Format(time.RFC3339)."""
    when = parse_time(meta(obj).get("creationTimestamp")) or datetime(1, 1, 1, tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_row(obj: Obj, now: datetime) -> list[Cell]:
    return [name(obj), _created_at(obj)]


CREATED_AT = Printer((NAME, Column("Created At", type="date", description=CREATED_DOC)), _default_row)

# --- ReplicationController, PodTemplate --------------------------------------------------------

_RC_SPEC = "io.k8s.api.core.v1.ReplicationControllerSpec"
_RC_STATUS = "io.k8s.api.core.v1.ReplicationControllerStatus"


def _rc_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(template_containers(obj))
    replicas = spec(obj).get("replicas")
    return [
        name(obj), 1 if replicas is None else int(replicas), int(status(obj).get("replicas") or 0),
        int(status(obj).get("readyReplicas") or 0), age(obj, now),
        names, images, format_labels(spec(obj).get("selector")),
    ]


REPLICATIONCONTROLLER = Printer(
    (
        NAME,
        col("Desired", doc(_RC_SPEC, "replicas"), type="integer"),
        col("Current", doc(_RC_STATUS, "replicas"), type="integer"),
        col("Ready", doc(_RC_STATUS, "readyReplicas"), type="integer"),
        AGE, CONTAINERS, IMAGES,
        col("Selector", doc(_RC_SPEC, "selector"), wide=True),
    ),
    _rc_row,
)


def _podtemplate_row(obj: Obj, now: datetime) -> list[Cell]:
    names, images = layout_containers(dig(obj, "template", "spec", "containers", default=[]))
    return [name(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


PODTEMPLATE = Printer(
    (
        NAME,
        col("Containers", "Names of each container in the template."),
        col("Images", "Images referenced by each container in the template."),
        col("Pod Labels", "The labels for the pod template."),
    ),
    _podtemplate_row,
)

# --- ResourceQuota, ComponentStatus ------------------------------------------------------------


def quota_columns(obj: Obj) -> tuple[str, str]:
    """printResourceQuota: `resource: used/hard` for each hard limit, sorted; `limits.*` resources
    go to the LIMIT column, the rest to REQUEST."""
    hard = status(obj).get("hard") or {}
    used = status(obj).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return ", ".join(requests), ", ".join(limits)


def _quota_row(obj: Obj, now: datetime) -> list[Cell]:
    request, limit = quota_columns(obj)
    return [name(obj), age(obj, now), request, limit]


# 1.32 prints AGE second (the order changed in 1.33, kubernetes#129419).
RESOURCEQUOTA = Printer(
    (
        NAME, AGE,
        col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        col("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent "
            "of contention on the node."),
    ),
    _quota_row,
)


def _componentstatus_row(obj: Obj, now: datetime) -> list[Cell]:
    state, message, error = "Unknown", "", ""
    for condition in obj.get("conditions") or []:
        if condition.get("type") == "Healthy":
            state = "Healthy" if condition.get("status") == "True" else "Unhealthy"
            message, error = condition.get("message", ""), condition.get("error", "")
            break
    return [name(obj), state, message, error]


COMPONENTSTATUS = Printer(
    (
        NAME,
        col("Status", "Status of the component conditions"),
        col("Message", "Message of the component conditions"),
        col("Error", "Error of the component conditions"),
    ),
    _componentstatus_row,
)

# --- RoleBinding, ClusterRoleBinding -----------------------------------------------------------


def subjects_strings(obj: Obj) -> tuple[str, str, str]:
    """rbac.SubjectsStrings joined with ", ": users, groups, and service accounts as namespace/name."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for s in obj.get("subjects") or []:
        kind, subject_name = s.get("kind"), s.get("name", "")
        if kind == "ServiceAccount":
            accounts.append(f"{s.get('namespace', '')}/{subject_name}")
        elif kind == "User":
            users.append(subject_name)
        elif kind == "Group":
            groups.append(subject_name)
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def _binding_row(obj: Obj, now: datetime) -> list[Cell]:
    ref = obj.get("roleRef") or {}
    return [name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(obj, now), *subjects_strings(obj)]


def _binding_printer(what: str) -> Printer:
    return Printer(
        (
            NAME,
            col("Role", doc(f"io.k8s.api.rbac.v1.{what}", "roleRef")),
            AGE,
            col("Users", f"Users in the {what[0].lower() + what[1:]}", wide=True),
            col("Groups", f"Groups in the {what[0].lower() + what[1:]}", wide=True),
            col("ServiceAccounts", f"ServiceAccounts in the {what[0].lower() + what[1:]}", wide=True),
        ),
        _binding_row,
    )


ROLEBINDING = _binding_printer("RoleBinding")
CLUSTERROLEBINDING = _binding_printer("ClusterRoleBinding")

# --- storage.k8s.io ----------------------------------------------------------------------------

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class",
)
_SC = "io.k8s.api.storage.v1.StorageClass"


def _storageclass_row(obj: Obj, now: datetime) -> list[Cell]:
    annotations = meta(obj).get("annotations") or {}
    shown = name(obj)
    if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):  # storageutil.IsDefaultAnnotation
        shown += " (default)"
    return [
        shown, obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate", bool(obj.get("allowVolumeExpansion")), age(obj, now),
    ]


STORAGECLASS = Printer(
    (
        NAME,
        col("Provisioner", doc(_SC, "provisioner")),
        col("ReclaimPolicy", doc(_SC, "reclaimPolicy")),
        col("VolumeBindingMode", doc(_SC, "volumeBindingMode")),
        col("AllowVolumeExpansion", doc(_SC, "allowVolumeExpansion")),
        AGE,
    ),
    _storageclass_row,
)

_CSI = "io.k8s.api.storage.v1.CSIDriverSpec"


def _csidriver_row(obj: Obj, now: datetime) -> list[Cell]:
    s = spec(obj)
    tokens = s.get("tokenRequests")
    modes = ",".join(s.get("volumeLifecycleModes") or []) or "<none>"
    return [
        name(obj), s.get("attachRequired") is not False, bool(s.get("podInfoOnMount")),
        bool(s.get("storageCapacity")),
        "<unset>" if tokens is None else ",".join(t.get("audience", "") for t in tokens),
        bool(s.get("requiresRepublish")), modes, age(obj, now),
    ]


CSIDRIVER = Printer(
    (
        NAME,
        col("AttachRequired", doc(_CSI, "attachRequired"), type="boolean"),
        col("PodInfoOnMount", doc(_CSI, "podInfoOnMount"), type="boolean"),
        col("StorageCapacity", doc(_CSI, "storageCapacity"), type="boolean"),
        col("TokenRequests", doc(_CSI, "tokenRequests")),
        col("RequiresRepublish", doc(_CSI, "requiresRepublish"), type="boolean"),
        col("Modes", doc(_CSI, "volumeLifecycleModes")),
        AGE,
    ),
    _csidriver_row,
)

CSINODE = Printer(
    (NAME, col("Drivers", "Drivers indicates the number of CSI drivers registered on the node", type="integer"),
     AGE),
    lambda obj, now: [name(obj), len(spec(obj).get("drivers") or []), age(obj, now)],
)

_CAPACITY = "io.k8s.api.storage.v1.CSIStorageCapacity"

CSISTORAGECAPACITY = Printer(
    (NAME, col("StorageClassName", doc(_CAPACITY, "storageClassName")), col("Capacity", doc(_CAPACITY, "capacity"))),
    lambda obj, now: [name(obj), obj.get("storageClassName", ""), obj.get("capacity") or "<unset>"],
)


def _volumeattachment_row(obj: Obj, now: datetime) -> list[Cell]:
    return [
        name(obj), spec(obj).get("attacher", ""), dig(obj, "spec", "source", "persistentVolumeName", default=""),
        spec(obj).get("nodeName", ""), bool(status(obj).get("attached")), age(obj, now),
    ]


_VA = "io.k8s.api.storage.v1.VolumeAttachmentSpec"

VOLUMEATTACHMENT = Printer(
    (
        NAME,
        Column("Attacher", format="name", description=doc(_VA, "attacher")),
        col("PV", doc("io.k8s.api.storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
        col("Node", doc(_VA, "nodeName")),
        col("Attached", doc("io.k8s.api.storage.v1.VolumeAttachmentStatus", "attached"), type="boolean"),
        AGE,
    ),
    _volumeattachment_row,
)

# --- PriorityClass, RuntimeClass ---------------------------------------------------------------

_PC = "io.k8s.api.scheduling.v1.PriorityClass"

PRIORITYCLASS = Printer(
    (
        NAME,
        col("Value", doc(_PC, "value"), type="integer"),
        col("Global-Default", doc(_PC, "globalDefault"), type="boolean"),
        AGE,
        col("PreemptionPolicy", doc(_PC, "preemptionPolicy")),
    ),
    lambda obj, now: [
        name(obj), int(obj.get("value") or 0), bool(obj.get("globalDefault")), age(obj, now),
        obj.get("preemptionPolicy") or "",
    ],
)

# upstream describes this column with ObjectMeta's (absent) "handler" doc: an empty description.
RUNTIMECLASS = Printer(
    (NAME, col("Handler"), AGE),
    lambda obj, now: [name(obj), obj.get("handler", ""), age(obj, now)],
)

# --- CertificateSigningRequest -----------------------------------------------------------------


def csr_condition(obj: Obj) -> str:
    """extractCSRStatus: Denied over Approved over Pending, then ,Failed and ,Issued."""
    types = {c.get("type") for c in status(obj).get("conditions") or []}
    state = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        state += ",Failed"
    if status(obj).get("certificate"):
        state += ",Issued"
    return state


def _csr_row(obj: Obj, now: datetime) -> list[Cell]:
    seconds: Any = spec(obj).get("expirationSeconds")
    duration = human_duration(timedelta(seconds=int(seconds))) if seconds is not None else "<none>"
    return [
        name(obj), age(obj, now), spec(obj).get("signerName") or "<none>", spec(obj).get("username", ""),
        duration, csr_condition(obj),
    ]


_CSR_SPEC = "io.k8s.api.certificates.v1.CertificateSigningRequestSpec"

CERTIFICATESIGNINGREQUEST = Printer(
    (
        NAME, AGE,
        col("SignerName", doc(_CSR_SPEC, "signerName")),
        col("Requestor", doc(_CSR_SPEC, "request")),
        col("RequestedDuration", doc(_CSR_SPEC, "expirationSeconds")),
        col("Condition", doc("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ),
    _csr_row,
)

_RBAC = "rbac.authorization.k8s.io"
_STORAGE = "storage.k8s.io"

# Keyed as tables.PRINTERS is, by (group, kind).
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "ReplicationController"): REPLICATIONCONTROLLER,
    ("", "PodTemplate"): PODTEMPLATE,
    ("", "ResourceQuota"): RESOURCEQUOTA,
    ("", "LimitRange"): CREATED_AT,
    ("", "ComponentStatus"): COMPONENTSTATUS,
    (_RBAC, "Role"): CREATED_AT,
    (_RBAC, "ClusterRole"): CREATED_AT,
    (_RBAC, "RoleBinding"): ROLEBINDING,
    (_RBAC, "ClusterRoleBinding"): CLUSTERROLEBINDING,
    (_STORAGE, "StorageClass"): STORAGECLASS,
    (_STORAGE, "CSIDriver"): CSIDRIVER,
    (_STORAGE, "CSINode"): CSINODE,
    (_STORAGE, "CSIStorageCapacity"): CSISTORAGECAPACITY,
    (_STORAGE, "VolumeAttachment"): VOLUMEATTACHMENT,
    ("scheduling.k8s.io", "PriorityClass"): PRIORITYCLASS,
    ("node.k8s.io", "RuntimeClass"): RUNTIMECLASS,
    ("certificates.k8s.io", "CertificateSigningRequest"): CERTIFICATESIGNINGREQUEST,
}
