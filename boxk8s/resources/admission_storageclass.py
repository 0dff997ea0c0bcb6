"""The DefaultStorageClass admission plugin (plugin/pkg/admission/storage/storageclass/setdefault,
Kubernetes 1.32): a claim created without a class gets the default StorageClass's name.

The default is the class annotated `storageclass.kubernetes.io/is-default-class: "true"` (or the
beta annotation); with several, the newest wins, then the first by name (pkg/volume/util/
storageclass.go GetDefaultClass, since 1.26). A claim that names a class, even "" (no class), or
carries the beta class annotation keeps it; with no default class the claim is left as it is.
"""

from __future__ import annotations

from typing import Any

from boxk8s.resources.meta import parse_time

Obj = dict[str, Any]

IS_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_IS_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLAIM_CLASS = "volume.beta.kubernetes.io/storage-class"


def is_default_class(sc: Obj) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return annotations.get(IS_DEFAULT_CLASS) == "true" or annotations.get(BETA_IS_DEFAULT_CLASS) == "true"


def default_class(classes: list[Obj]) -> Obj | None:
    """GetDefaultClass: newest creationTimestamp first, then name ascending."""
    defaults = [sc for sc in classes if is_default_class(sc)]
    if not defaults:
        return None

    def newest_first(sc: Obj) -> tuple[float, str]:
        created = parse_time(sc["metadata"].get("creationTimestamp"))
        return (-created.timestamp() if created else 0.0, str(sc["metadata"]["name"]))

    return min(defaults, key=newest_first)


def claim_has_class(claim: Obj) -> bool:
    """helper.PersistentVolumeClaimHasClass: spec.storageClassName set (even to ""), or the beta annotation."""
    if BETA_CLAIM_CLASS in ((claim.get("metadata") or {}).get("annotations") or {}):
        return True
    return (claim.get("spec") or {}).get("storageClassName") is not None


def admit_claim_create(claim: Obj, classes: list[Obj]) -> None:
    """Admit on Create: set spec.storageClassName to the default class's name when the claim has none."""
    spec = claim.get("spec")
    if not isinstance(spec, dict) or claim_has_class(claim):
        return
    default = default_class(classes)
    if default is not None:
        spec["storageClassName"] = default["metadata"]["name"]
