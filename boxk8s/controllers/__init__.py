"""The controller manager's controllers, and the factories the supervisor builds them from."""

from __future__ import annotations

import functools
from collections.abc import Callable

from boxk8s.client import Client, InformerFactory
from boxk8s.client.metrics import MetricsSource
from boxk8s.config import ControllerSettings
from boxk8s.controllers.base import Controller
from boxk8s.controllers.clusterroleaggregation import ClusterRoleAggregationController
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
from boxk8s.controllers.rootcacert import RootCACertPublisher
from boxk8s.controllers.statefulset import StatefulSetController
from boxk8s.controllers.ttl import TTLAfterFinishedController

# Builds one controller from its client (named for its field manager) and the shared informers.
ControllerFactory = Callable[[Client, InformerFactory], Controller]


def default_controllers(settings: ControllerSettings, metrics: MetricsSource | None = None) -> list[ControllerFactory]:
    """What the controller manager runs, in start order; each takes the settings it needs explicitly.
    `metrics`: the resource metrics the HPA controller reads (the cluster's metrics sampler)."""
    makers: list[ControllerFactory] = [
        NamespaceController,
        EndpointsController,
        EndpointSliceController,
        ReplicaSetController,
        DeploymentController,
        StatefulSetController,
        DaemonSetController,
        DisruptionController,
        JobController,
        CronJobController,
        TTLAfterFinishedController,
        PersistentVolumeBinder,
        ClusterRoleAggregationController,
        GarbageCollector,
        functools.partial(NodeLifecycleController, settings=settings),
        functools.partial(HorizontalController, settings=settings, metrics=metrics),
    ]
    if settings.root_ca_pem:
        makers.append(functools.partial(RootCACertPublisher, ca_pem=settings.root_ca_pem))
    return makers


def controller_name(make: ControllerFactory) -> str:
    """The field manager a controller's writes carry (its class's `name`)."""
    target = make.func if isinstance(make, functools.partial) else make
    return target.name if isinstance(target, type) and issubclass(target, Controller) else "controller"


__all__ = ["Controller", "ControllerFactory", "controller_name", "default_controllers"]
