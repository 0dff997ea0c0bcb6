"""The ServiceAccount admission plugin's token volume (plugin/pkg/admission/serviceaccount/admission.go,
`shouldAutomount` and `mountServiceAccountToken`): a new pod whose account (or itself) does not
opt out with `automountServiceAccountToken: false` gets a projected volume `kube-api-access-<5
random>` (a bound token, the cluster CA from the `kube-root-ca.crt` ConfigMap, the namespace),
mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init
container that has nothing mounted there. Pure: the caller passes the account.
"""

from __future__ import annotations

from typing import Any

from boxk8s.resources import meta
from boxk8s.resources.serviceaccount_token import WARN_ONLY_EXPIRATION_SECONDS

Obj = dict[str, Any]

VOLUME_PREFIX = "kube-api-access-"  # ServiceAccountVolumeName + "-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"  # DefaultAPITokenMountPath
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
PROJECTED_DEFAULT_MODE = 0o644  # corev1.ProjectedVolumeSourceDefaultMode


def should_automount(account: Obj, pod: Obj) -> bool:
    """shouldAutomount: the pod's choice, else the account's, else yes."""
    wanted = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if wanted is not None:
        return bool(wanted)
    wanted = account.get("automountServiceAccountToken")
    return True if wanted is None else bool(wanted)


def token_volume_source() -> Obj:
    """TokenVolumeSource."""
    return {
        "defaultMode": PROJECTED_DEFAULT_MODE,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": WARN_ONLY_EXPIRATION_SECONDS, "path": "token"}},
            {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
    }


def mount_service_account_token(pod: Obj, volume_name: str = "") -> None:
    """mountServiceAccountToken, into `pod` (whose spec and containers it replaces, never changes): reuse a `kube-api-access-*` volume the pod has, else add
    one (named `volume_name`, or generated) when a container mounts it."""
    spec = dict(pod.get("spec") or {})  # copied on write: a controller's template may be what it shares
    volumes = spec.get("volumes") or []
    existing = next((v.get("name", "") for v in volumes if v.get("name", "").startswith(VOLUME_PREFIX)), "")
    name = existing or volume_name or meta.generate_name(VOLUME_PREFIX)
    mount = {"name": name, "readOnly": True, "mountPath": MOUNT_PATH}
    needs_volume = False
    for field in ("initContainers", "containers"):
        if not spec.get(field):
            continue
        containers = []
        for container in spec[field]:
            mounts = container.get("volumeMounts") or []
            if any(m.get("mountPath") == MOUNT_PATH for m in mounts):
                containers.append(container)  # a mount of its own at the path wins
                continue
            containers.append({**container, "volumeMounts": [*mounts, dict(mount)]})
            needs_volume = True
        spec[field] = containers
    if not existing and needs_volume:
        spec["volumes"] = [*volumes, {"name": name, "projected": token_volume_source()}]
    pod["spec"] = spec
