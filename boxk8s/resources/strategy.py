"""Per-kind strategies: what the write path does differently for each kind, in one table.

Upstream every kind's storage carries a strategy (pkg/registry/<group>/<kind>/strategy.go)
implementing rest.RESTCreateStrategy (PrepareForCreate), rest.RESTGracefulDeleteStrategy
(CheckGracefulDelete), rest.GarbageCollectionDeleteStrategy (DefaultGarbageCollectionPolicy), and
so on, and the generic registry (apiserver/pkg/registry/generic/registry/store.go) calls them. Here
one frozen dataclass of hooks per kind, each defaulting to what most kinds do, so the resource
layer and `status` ask `strategy_for(rt)` instead of testing `rt.kind`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from boxk8s import errors
from boxk8s.resources import admission_priority, strategy_kinds
from boxk8s.resources.defaults import job_selector, qos_class
from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]

UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")


def reset_status(rt: ResourceType, obj: Obj) -> None:
    """PrepareForCreate of kinds with a status subresource: status is the system's, not the client's."""
    if "status" in rt.subresources:
        obj["status"] = {}


def _initial_status(status: Callable[[Obj], Obj]) -> Callable[[ResourceType, Obj], None]:
    """PrepareForCreate of kinds whose status starts with something in it."""
    def prepare(rt: ResourceType, obj: Obj) -> None:
        obj["status"] = status(obj)
    return prepare


def _keep_status(rt: ResourceType, obj: Obj) -> None:
    """Nodes may set their status on create (the kubelet registers that way: nodeStrategy keeps it)."""


def _deletable(obj: Obj) -> None:
    """Most objects may be deleted by whoever may delete them."""


def _no_grace(obj: Obj, requested: int | None) -> int:
    """Most kinds go at once (no RESTGracefulDeleteStrategy)."""
    return 0


def _never(obj: Obj) -> bool:
    return False


def _nothing(obj: Obj) -> None:
    return None


def _label_selector(obj: Obj) -> Obj | None:
    """Workloads of apps/v1 and batch/v1 select with a metav1.LabelSelector in spec.selector."""
    return (obj.get("spec") or {}).get("selector")


def _equality_selector(obj: Obj) -> Obj | None:
    """A v1 ReplicationController selects with a plain map (labels.SelectorFromSet), which is a
    LabelSelector of matchLabels only (the conversion upstream's RC adapter makes)."""
    selector = (obj.get("spec") or {}).get("selector")
    return None if selector is None else {"matchLabels": dict(selector)}


def _as_sent(old: Obj, sent: Obj, new: Obj, subresource: str) -> None:
    """Most kinds write what was sent (status.merge_for_subresource has already kept what the
    subresource written does not own)."""


@dataclass(frozen=True)
class KindStrategy:
    """The hooks of one kind; a field left at its default behaves as for most kinds."""

    # PrepareForCreate: what a new object's status is, whatever the client sent.
    prepare_for_create: Callable[[ResourceType, Obj], None] = reset_status
    # Refuses (raises) a delete the kind never allows.
    check_delete: Callable[[Obj], None] = _deletable
    # CheckGracefulDelete: the grace period (seconds) of a delete, given the one asked for.
    grace_period: Callable[[Obj, int | None], int] = _no_grace
    # Whether the object must stay while terminating, finalizers aside (namespaces: spec.finalizers).
    blocks_deletion: Callable[[Obj], bool] = _never
    # What else a terminating object shows, beyond deletionTimestamp and its grace period.
    prepare_for_terminating: Callable[[Obj], None] = _nothing
    # DefaultGarbageCollectionPolicy: for a delete that names no propagation policy.
    default_gc_policy: str = "Background"
    # Services own cluster IPs and node ports: their writes go through the allocators, one at a time.
    allocates_addresses: bool = False
    # Whether Update writes record metadata.managedFields entries.
    records_managed_fields: bool = True
    # PrepareForUpdate: (stored, sent, new, subresource) -> None, changing `new` in place.
    prepare_for_update: Callable[[Obj, Obj, Obj, str], None] = _as_sent
    # The object's selector as a metav1.LabelSelector (scale status, owner controllers' claims).
    label_selector: Callable[[Obj], Obj | None] = _label_selector


def _pod_status(obj: Obj) -> Obj:
    """podStrategy.PrepareForCreate: a new pod is Pending, with its QoS class."""
    return {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}


def _pod_grace_period(obj: Obj, requested: int | None) -> int:
    """podStrategy.CheckGracefulDelete: only pods that run on a node terminate gracefully; an
    unbound or finished pod goes at once."""
    spec = obj.get("spec") or {}
    if not spec.get("nodeName") or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(int(requested), 0)
    return int(spec.get("terminationGracePeriodSeconds", 30))


def _job_prepare_for_create(rt: ResourceType, obj: Obj) -> None:
    """jobStrategy.PrepareForCreate: a fresh status, and the selector generated from the new uid
    (defaults ran before, without it). SetDefaults_Job gave an unlabelled Job its template's labels
    map itself (Go aliases it), so the labels generateSelector adds to the template show on the
    Job too; and a Job whose template had none gets them on its first read (defaults again)."""
    reset_status(rt, obj)
    template_md = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    before = dict(template_md.get("labels") or {})
    job_selector(obj)
    md = obj.setdefault("metadata", {})
    after = ((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    if after and (not md.get("labels") or md.get("labels") == before):
        md["labels"] = dict(after)


def _namespace_deletable(obj: Obj) -> None:
    """The NamespaceLifecycle admission plugin: the immortal namespaces cannot be deleted."""
    name = obj["metadata"]["name"]
    if name in UNDELETABLE_NAMESPACES:
        raise errors.Forbidden(
            f'namespaces "{name}" is forbidden: this namespace may not be deleted', name=name, kind="namespaces"
        )


def _namespace_blocks_deletion(obj: Obj) -> bool:
    """Namespaces wait for their content to go (spec.finalizers holds `kubernetes`)."""
    return bool((obj.get("spec") or {}).get("finalizers"))


def _namespace_terminating(obj: Obj) -> None:
    """The namespace REST Delete: a namespace being deleted shows phase Terminating."""
    obj.setdefault("status", {})["phase"] = "Terminating"


DEFAULT = KindStrategy()

STRATEGIES: dict[str, KindStrategy] = {
    "Pod": KindStrategy(prepare_for_create=_initial_status(_pod_status), grace_period=_pod_grace_period),
    "Namespace": KindStrategy(
        prepare_for_create=_initial_status(lambda obj: {"phase": "Active"}),
        check_delete=_namespace_deletable,
        blocks_deletion=_namespace_blocks_deletion,
        prepare_for_terminating=_namespace_terminating,
    ),
    # A new Service's status is its always-written loadBalancer: {} (zero_values).
    "Service": KindStrategy(allocates_addresses=True),
    "Node": KindStrategy(prepare_for_create=_keep_status),
    # batch/v1 Job and v1 ReplicationController keep orphaning as their default for compatibility;
    # everything else deletes dependents in the background.
    "Job": KindStrategy(default_gc_policy="Orphan", prepare_for_create=_job_prepare_for_create),
    "ReplicationController": KindStrategy(default_gc_policy="Orphan", label_selector=_equality_selector),
    # Events are written constantly and never applied or edited by hand: no managedFields.
    "Event": KindStrategy(records_managed_fields=False),
    "PriorityClass": KindStrategy(check_delete=admission_priority.check_delete),
    "CertificateSigningRequest": KindStrategy(
        prepare_for_create=lambda rt, obj: strategy_kinds.csr_prepare_for_create(obj),
        prepare_for_update=strategy_kinds.csr_prepare_for_update,
    ),
}


def strategy_for(rt: ResourceType) -> KindStrategy:
    """The strategy of a kind (both Event kinds share one, as `rt.kind == "Event"` did)."""
    return strategy_of(rt.kind)


def strategy_of(kind: str) -> KindStrategy:
    return STRATEGIES.get(kind, DEFAULT)
