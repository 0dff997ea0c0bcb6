"""What every cluster has from its first start: the system namespaces and the `kubernetes` Service."""

from __future__ import annotations

import contextlib

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.layer import Resources


async def bootstrap(resources: Resources) -> None:
    """Create what is missing (a restarted cluster keeps what it has)."""
    ns_rt = registry.find("", "v1", "namespaces")
    svc_rt = registry.find("", "v1", "services")
    assert ns_rt and svc_rt
    for name in registry.SYSTEM_NAMESPACES:
        with contextlib.suppress(errors.AlreadyExists):
            await resources.create(ns_rt, None, {
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
            })
    with contextlib.suppress(errors.AlreadyExists):
        await resources.create(svc_rt, "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None",
            },
        })
