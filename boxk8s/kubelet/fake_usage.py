"""What a container on a simulated node uses: from its pod's annotations, else its requests.

The fake runtime has no processes to measure, so its stats report what is configured here —
simple and deterministic for tests and simulations (`kubectl top`, the HPA on fake nodes):

- `boxk8s.io/fake-usage: "cpu=250m,memory=64Mi"` on the pod: every container of the pod uses that;
- `fake-usage.boxk8s.io/<container>: "cpu=100m"` on the pod: that container uses that (before the former);
- a resource neither names: the container's request of it (nothing requested: 0).

The pod is read from the informer at every sample, so changing an annotation (kubectl annotate)
changes the usage from the next sample on, as a load change would on a real node.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Protocol

from boxk8s.kubelet.runtime.base import ContainerState
from boxk8s.resources.quantity import QuantityError, parse_quantity, value

log = logging.getLogger(__name__)

POD_ANNOTATION = "boxk8s.io/fake-usage"
CONTAINER_ANNOTATION_PREFIX = "fake-usage.boxk8s.io/"


class PodLookup(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...


def parse_usage(text: str) -> dict[str, str]:
    """`cpu=250m,memory=64Mi` → {"cpu": "250m", "memory": "64Mi"} (malformed terms are skipped)."""
    out = {}
    for term in text.split(","):
        key, sep, val = term.partition("=")
        if sep and key.strip() in ("cpu", "memory") and val.strip():
            out[key.strip()] = val.strip()
    return out


def container_usage(pod: Mapping[str, Any], container: str) -> tuple[int, int]:
    """(CPU nanocores, memory bytes) the pod's container uses, per the rules above."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
    requests = (spec.get("resources") or {}).get("requests") or {}
    given = {**parse_usage(annotations.get(POD_ANNOTATION, "")),
             **parse_usage(annotations.get(CONTAINER_ANNOTATION_PREFIX + container, ""))}
    cpu, memory = given.get("cpu") or requests.get("cpu") or "0", given.get("memory") or requests.get("memory") or "0"
    try:
        return math.ceil(parse_quantity(cpu) * 1_000_000_000), value(memory)
    except QuantityError:
        log.warning("pod/%s/%s: fake usage %r is not made of quantities; using 0",
                    (pod.get("metadata") or {}).get("namespace"), (pod.get("metadata") or {}).get("name"), given)
        return 0, 0


class PodAnnotationUsage:
    """The fake runtime's `usage` function, over the cluster's pod informer."""

    def __init__(self, pods: PodLookup) -> None:
        self.pods = pods

    def __call__(self, state: ContainerState) -> tuple[int, int] | None:
        pod = self.pods.get(f"{state.namespace}/{state.pod_name}")
        if pod is None or (pod.get("metadata") or {}).get("uid") != state.pod_uid:
            return None
        return container_usage(pod, state.name)
