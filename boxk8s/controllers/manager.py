"""The controller manager: which controllers run, in which order, and the names their writes carry."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from boxk8s.client.metrics import MetricsSource
from boxk8s.config import ControllerSettings
from boxk8s.controllers.base import Controller, ControllerFactory
from boxk8s.controllers.clusterroleaggregation import ClusterRoleAggregationController
from boxk8s.controllers.crd import CRDController
from boxk8s.controllers.cronjob import CronJobController
from boxk8s.controllers.daemonset import DaemonSetController
from boxk8s.controllers.deployment import DeploymentController
from boxk8s.controllers.disruption import DisruptionController
from boxk8s.controllers.endpoints import EndpointsController, EndpointSliceController
from boxk8s.controllers.garbagecollector import GarbageCollector
from boxk8s.controllers.hpa import HorizontalController
from boxk8s.controllers.job import JobController
from boxk8s.controllers.namespace import NamespaceController
from boxk8s.controllers.nodelifecycle import NodeLifecycleController
from boxk8s.controllers.pvc import PersistentVolumeBinder
from boxk8s.controllers.replicaset import ReplicaSetController
from boxk8s.controllers.replicationcontroller import ReplicationManager
from boxk8s.controllers.resourcequota import ResourceQuotaController
from boxk8s.controllers.rootcacert import RootCACertPublisher
from boxk8s.controllers.serviceaccounts import ServiceAccountsController
from boxk8s.controllers.statefulset import StatefulSetController
from boxk8s.controllers.ttl import TTLAfterFinishedController


def default_controllers(settings: ControllerSettings, metrics: MetricsSource | None = None) -> list[ControllerFactory]:
    """What the controller manager runs, in start order; each takes the settings it needs explicitly.
    `metrics`: the resource metrics the HPA controller reads (the cluster's metrics sampler)."""
    makers: list[ControllerFactory] = [
        CRDController,  # first: custom resources are served before the controllers that may use them
        NamespaceController,
        ServiceAccountsController,
        EndpointsController,
        EndpointSliceController,
        ReplicaSetController,
        ReplicationManager,
        DeploymentController,
        StatefulSetController,
        DaemonSetController,
        DisruptionController,
        JobController,
        CronJobController,
        TTLAfterFinishedController,
        PersistentVolumeBinder,
        ResourceQuotaController,
        ClusterRoleAggregationController,
        GarbageCollector,
        functools.partial(NodeLifecycleController, settings=settings),
        functools.partial(HorizontalController, settings=settings, metrics=metrics),
    ]
    return makers


def controller_name(make: ControllerFactory) -> str:
    """The field manager a controller's writes carry (its class's `name`)."""
    target = make.func if isinstance(make, functools.partial) else make
    return target.name if isinstance(target, type) and issubclass(target, Controller) else "controller"


def with_required(makers: Sequence[ControllerFactory], root_ca_pem: bytes = b"") -> list[ControllerFactory]:
    """`makers`, plus the controllers the apiserver's admission cannot do without: the ServiceAccount
    plugin refuses pods until their namespace's `default` account exists, which its controller
    makes, and gives them a token volume projecting the `kube-root-ca.crt` ConfigMap, which the root
    CA publisher makes from `root_ca_pem` (so even a cluster narrowed to no controllers, as tests
    assemble, runs pods)."""
    required: list[ControllerFactory] = [] if ServiceAccountsController in makers else [ServiceAccountsController]
    names = {controller_name(m) for m in makers}
    if root_ca_pem and RootCACertPublisher.name not in names:
        required.append(functools.partial(RootCACertPublisher, ca_pem=root_ca_pem))
    return [*required, *makers]


__all__ = ["controller_name", "default_controllers", "with_required"]
