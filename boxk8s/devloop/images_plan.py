"""Which workloads roll out when a local image tag is rebuilt, and the patch that makes them. Pure.

`docker build -t myapp:dev .` moves the tag `myapp:dev` to a new image. A pod template that names
`myapp:dev` does not change, so no controller would act; a real cluster needs a new tag, a registry
push and a manifest edit (or `kind load` and a restart). boxk8s sees the Docker event instead and
changes each using workload's pod template, as `kubectl rollout restart` does (it sets
`kubectl.kubernetes.io/restartedAt`): here the annotation `boxk8s.io/images` records the image IDs
the template now runs, so the workload rolls out with its own strategy and the new pods' containers
are made from the new image. `kubernetes.io/change-cause` on the workload says why, and the
Deployment controller copies it to the new ReplicaSet, where `kubectl rollout history` reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IMAGES_ANNOTATION = "boxk8s.io/images"
CHANGE_CAUSE = "kubernetes.io/change-cause"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def normalize_image(reference: str) -> str:
    """Docker's full form of an image reference (`myapp` → `docker.io/library/myapp:latest`), so
    that the names a pod spec and a Docker event use compare equal. Digests stay as they are."""
    ref = reference.strip()
    if not ref:
        return ref
    name, digest = (ref.split("@", 1) + [""])[:2]
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    return f"{name}:{tag or 'latest'}"


@dataclass(frozen=True)
class Rollout:
    kind: str
    namespace: str
    name: str
    patch: dict[str, Any]  # a JSON merge patch for the workload
    containers: tuple[str, ...]


def _containers(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = template.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def plan_image_rollouts(workloads: Iterable[Mapping[str, Any]], image: str, image_id: str) -> list[Rollout]:
    """The workloads (Deployments, StatefulSets, DaemonSets) whose pod template runs `image`, each
    with the patch that rolls it to `image_id`; none for a workload already on that ID (an event
    seen twice), a paused one's change waits in its template as any other change would."""
    wanted = normalize_image(image)
    out: list[Rollout] = []
    for w in workloads:
        if w.get("kind") not in WORKLOAD_KINDS:
            continue
        md = w.get("metadata") or {}
        if md.get("deletionTimestamp"):
            continue
        template = (w.get("spec") or {}).get("template") or {}
        users = tuple(str(c.get("name", "")) for c in _containers(template)
                      if normalize_image(str(c.get("image", ""))) == wanted)
        if not users:
            continue
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        try:
            recorded: dict[str, str] = json.loads(annotations.get(IMAGES_ANNOTATION) or "{}")
        except ValueError:
            recorded = {}
        if not isinstance(recorded, dict) or recorded.get(image) == image_id:
            continue
        images = {**recorded, image: image_id}
        cause = f"image {image} rebuilt: {image_id.removeprefix('sha256:')[:12]}"
        out.append(Rollout(str(w["kind"]), str(md.get("namespace", "")), str(md.get("name", "")), {
            "metadata": {"annotations": {CHANGE_CAUSE: cause}},
            "spec": {"template": {"metadata": {"annotations": {
                IMAGES_ANNOTATION: json.dumps(images, sort_keys=True, separators=(",", ":"))}}}},
        }, users))
    return out
