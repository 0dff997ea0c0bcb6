"""From a stored CustomResourceDefinition to the kinds a cluster serves for it.

What apiextensions-apiserver's crdHandler builds per CRD (getOrCreateServingInfoFor): for each
served version, a resource named by `status.acceptedNames` (the names the naming controller
accepted, not the requested ones), its structural schema, subresources and printer columns, and
the storage version that every version is stored as (conversion `None`: only apiVersion changes).
`serve` installs the versions in the catalogue (custom.py) and registers their ResourceTypes in
the cluster's Kinds; `unserve` undoes it. The CRD strategy's deletion hooks are here too.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from boxk8s.resources import custom
from boxk8s.resources.crd_structural import compile_schema, embedded_paths
from boxk8s.resources.custom import CustomVersion, PrinterColumn, ScaleSpec
from boxk8s.resources.kinds import Kinds
from boxk8s.resources.meta import now_rfc3339
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

GROUP = "apiextensions.k8s.io"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
# The verbs of every custom resource, in the order the apiserver lists them.
VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
OBJECT_META_REF = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}

Obj = dict[str, Any]


def condition(crd: Obj, kind: str) -> Obj | None:
    for c in (crd.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return None


def condition_true(crd: Obj, kind: str) -> bool:
    c = condition(crd, kind)
    return bool(c) and c.get("status") == "True"


def serves(crd: Obj) -> bool:
    """Whether the CRD's resources answer (the handler's test: NamesAccepted or Established)."""
    return condition_true(crd, "NamesAccepted") or condition_true(crd, "Established")


def storage_version(spec: Obj) -> str:
    return next((v.get("name", "") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")), "")


def _columns(version: Obj) -> tuple[PrinterColumn, ...]:
    cols = []
    for c in version.get("additionalPrinterColumns") or []:
        if not isinstance(c, dict):
            continue
        cols.append(PrinterColumn(name=str(c.get("name", "")), type=str(c.get("type", "string")),
                                  json_path=str(c.get("jsonPath", "")), format=str(c.get("format") or ""),
                                  description=str(c.get("description") or ""), priority=int(c.get("priority") or 0)))
    return tuple(cols)


def _scale(version: Obj) -> ScaleSpec | None:
    scale = (version.get("subresources") or {}).get("scale")
    if not isinstance(scale, dict):
        return None
    return ScaleSpec(str(scale.get("specReplicasPath", "")), str(scale.get("statusReplicasPath", "")),
                     scale.get("labelSelectorPath"))


def patch_schema(schema: Obj) -> Obj:
    """The version's schema as the patch code reads schemas (list types, map keys): metadata, at
    the root and in embedded resources, refers to ObjectMeta like the built-in kinds' schemas."""
    out = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    _meta_refs(out, root=True)
    return out


def _meta_refs(s: Any, root: bool = False) -> None:
    if not isinstance(s, dict):
        return
    resource = root or s.get("x-kubernetes-embedded-resource") is True
    if resource:
        if not isinstance(s.get("properties"), dict):
            s["properties"] = {}
        props = s["properties"]
        props["metadata"] = dict(OBJECT_META_REF)
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
    for k, child in (s.get("properties") or {}).items():
        if not (resource and k == "metadata"):
            _meta_refs(child)
    for key in ("items", "additionalProperties"):
        _meta_refs(s.get(key))


def versions_of(crd: Obj) -> list[CustomVersion]:
    """The served versions of `crd`, each with its ResourceType (and the storage version's)."""
    md, spec, status = crd.get("metadata") or {}, crd.get("spec") or {}, crd.get("status") or {}
    names = status.get("acceptedNames") or {}
    plural, kind = names.get("plural") or "", names.get("kind") or ""
    group = spec.get("group") or ""
    if not (plural and kind and group):
        return []
    uid, crd_name = md.get("uid", ""), md.get("name", "")
    storage = storage_version(spec)
    if (spec.get("conversion") or {}).get("strategy") == "Webhook":
        log.warning("CRD %s asks for webhook conversion; boxk8s converts its versions as `None` "
                    "(only apiVersion changes)", crd_name)
    out: list[CustomVersion] = []
    by_version: dict[str, CustomVersion] = {}
    for v in spec.get("versions") or []:
        if not isinstance(v, dict) or not v.get("name"):
            continue
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {}
        root = compile_schema(schema)
        subresources = v.get("subresources") or {}
        cv = CustomVersion(
            crd_name=crd_name, crd_uid=uid, group=group, version=v["name"], kind=kind,
            list_kind=names.get("listKind") or kind + "List", plural=plural,
            singular=names.get("singular") or kind.lower(), namespaced=spec.get("scope") == "Namespaced",
            schema=schema, root=root, storage_version=storage, status="status" in subresources,
            scale=_scale(v), columns=_columns(v), deprecated=bool(v.get("deprecated")),
            deprecation_warning=v.get("deprecationWarning"), has_embedded=embedded_paths(root),
            patch_schema=patch_schema(schema),
        )
        subs = tuple(s for s in ("status", "scale") if s in subresources)
        cv.rt = ResourceType(
            group=group, version=cv.version, kind=kind, plural=plural, singular=cv.singular,
            namespaced=cv.namespaced, definition=custom.definition_name(crd_name, cv.version, uid),
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            subresources=subs, has_spec=True, verbs=VERBS, extra={"listKind": cv.list_kind},
        )
        by_version[cv.version] = cv
        if v.get("served"):
            out.append(cv)
    storage_cv = by_version.get(storage)
    if storage_cv is None:
        return []
    for cv in [*out, storage_cv]:
        cv.storage_rt = storage_cv.rt
    return out if storage_cv in out else [*out, _unserved(storage_cv)]


def _unserved(cv: CustomVersion) -> CustomVersion:
    """A storage version that is not served still resolves (objects are stored as it)."""
    cv.storage_rt = cv.rt
    return cv


def serve(kinds: Kinds, crd: Obj, terminating: bool = False) -> list[ResourceType]:
    """Serve `crd`'s versions in `kinds` (replacing what it served); the served ResourceTypes."""
    name = (crd.get("metadata") or {}).get("name", "")
    versions = versions_of(crd)
    for cv in versions:
        cv.terminating = terminating
    custom.install(versions)
    served_names = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or []
                    if isinstance(v, dict) and v.get("served")}
    types = [cv.rt for cv in versions if cv.rt is not None and cv.version in served_names]
    kinds.register(name, types)
    return types


def unserve(kinds: Kinds, crd_name: str, uid: str = "") -> None:
    kinds.unregister(crd_name)
    if uid:
        custom.remove(uid)


# ---- the CRD's own strategy (apiextensions-apiserver/pkg/registry/customresourcedefinition) ----

def blocks_deletion(crd: Obj) -> bool:
    """The first delete of a CRD never removes it: the REST Delete adds the cleanup finalizer and
    the Terminating condition instead (etcd.go Delete)."""
    return not (crd.get("metadata") or {}).get("deletionTimestamp")


def prepare_for_terminating(crd: Obj) -> None:
    md = crd["metadata"]
    finalizers = list(md.get("finalizers") or [])
    if CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    md["finalizers"] = finalizers
    set_condition(crd, {"type": "Terminating", "status": "True", "reason": "InstanceDeletionPending",
                        "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will "
                                   "begin soon"})


def set_condition(crd: Obj, new: Obj, now: str | None = None) -> None:
    """apihelpers.SetCRDCondition: replace the condition of that type, keeping its transition time
    when the status is unchanged."""
    status = crd.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    entry = dict(new)
    if old is not None and old.get("status") == new.get("status") and old.get("lastTransitionTime"):
        entry["lastTransitionTime"] = old["lastTransitionTime"]
    else:
        entry["lastTransitionTime"] = now or now_rfc3339()
    ordered = {"type": entry["type"], "status": entry["status"], "lastTransitionTime": entry["lastTransitionTime"],
               "reason": entry.get("reason", ""), "message": entry.get("message", "")}
    if old is None:
        conditions.append(ordered)
    else:
        conditions[conditions.index(old)] = ordered
    status["conditions"] = conditions
