"""The root CA publisher: a ConfigMap `kube-root-ca.crt` holding the cluster's CA (`ca.crt`) in every
namespace, which every pod's ServiceAccount volume projects (upstream's
pkg/controller/certificates/rootcacertpublisher/publisher.go).

A namespace added or updated, and the ConfigMap changed or deleted, queue the namespace;
`plan_root_ca` says whether to create the ConfigMap or bring its data and description back.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.controllers.base import Controller
from boxk8s.events import EventRecorder

log = logging.getLogger(__name__)

Obj = dict[str, Any]

CONFIGMAP = "kube-root-ca.crt"  # RootCACertConfigMapName
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


def plan_root_ca(namespace: Obj | None, existing: Obj | None, ca_pem: str) -> tuple[str, Obj] | None:
    """syncNamespace's decision: ("create", configmap), ("update", configmap) or None."""
    if namespace is None or namespace["metadata"].get("deletionTimestamp"):
        return None
    name = namespace["metadata"]["name"]
    data = {"ca.crt": ca_pem}
    if existing is None:
        return "create", {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": CONFIGMAP, "namespace": name,
                                       "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                          "data": data}
    annotations = existing["metadata"].get("annotations") or {}
    if existing.get("data") == data and annotations.get(DESCRIPTION_ANNOTATION):
        return None
    updated = copy.deepcopy(existing)
    updated["data"] = data
    updated["metadata"]["annotations"] = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
    return "update", updated


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    workers = 1

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None, *,
                 ca_pem: bytes) -> None:
        super().__init__(client, factory, recorder)
        assert Kind.NAMESPACE and Kind.CONFIGMAP
        self.ca_pem = ca_pem.decode()
        self.namespaces = factory.informer(Kind.NAMESPACE)
        self.configmaps = factory.informer(Kind.CONFIGMAP)
        self.namespaces.add_handler(self._on_namespace)
        self.configmaps.add_handler(self._on_configmap)

    def _on_namespace(self, _kind: str, _old: Obj | None, new: Obj | None) -> None:
        if new is not None and (new.get("status") or {}).get("phase", "Active") == "Active":
            self.queue.add(new["metadata"]["name"])

    def _on_configmap(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        obj = new if new is not None else old
        if obj is not None and obj["metadata"]["name"] == CONFIGMAP and kind != "ADDED":
            self.queue.add(obj["metadata"]["namespace"])

    async def reconcile(self, key: str) -> float | None:
        assert Kind.CONFIGMAP
        action = plan_root_ca(self.namespaces.get(key), self.configmaps.get(f"{key}/{CONFIGMAP}"), self.ca_pem)
        if action is None:
            return None
        verb, configmap = action
        try:
            if verb == "create":
                await self.client.create(Kind.CONFIGMAP, key, configmap)
            else:
                await self.client.update(Kind.CONFIGMAP, configmap)
        except errors.NotFound:
            return None  # the namespace went
        except (errors.AlreadyExists, errors.Conflict):
            return 0.5  # changed meanwhile: look again
        except errors.Forbidden as e:  # the namespace is terminating
            log.debug("configmaps/%s/%s: not written: %s", key, CONFIGMAP, e.message)
        return None
