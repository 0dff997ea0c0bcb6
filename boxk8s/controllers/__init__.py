"""The controller manager's controllers. `CONTROLLERS` is what the supervisor starts, in order."""

from __future__ import annotations

from boxk8s.controllers.base import Controller
from boxk8s.controllers.cronjob import CronJobController
from boxk8s.controllers.daemonset import DaemonSetController
from boxk8s.controllers.deployment import DeploymentController
from boxk8s.controllers.garbagecollector import GarbageCollector
from boxk8s.controllers.job import JobController
from boxk8s.controllers.nodelifecycle import NodeLifecycleController
from boxk8s.controllers.pvc import PersistentVolumeBinder
from boxk8s.controllers.replicaset import ReplicaSetController
from boxk8s.controllers.statefulset import StatefulSetController
from boxk8s.controllers.ttl import TTLAfterFinishedController

CONTROLLERS: list[type[Controller]] = [
    ReplicaSetController,
    DeploymentController,
    StatefulSetController,
    DaemonSetController,
    JobController,
    CronJobController,
    TTLAfterFinishedController,
    PersistentVolumeBinder,
    GarbageCollector,
    NodeLifecycleController,
]

__all__ = ["CONTROLLERS", "Controller"]
