"""The ReplicationController controller (pkg/controller/replication): the ReplicaSet controller over
v1 ReplicationControllers.

Upstream runs replica_set.go's ReplicaSetController through a conversion adapter (an RC read as
a ReplicaSet whose selector is `matchLabels: <the RC's map>`); here the same class runs with its
owner kind set to ReplicationController, whose strategy reads the map as that LabelSelector. Pods
it creates carry an ownerReference `v1 ReplicationController, controller: true`; its status
(replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration, the
ReplicaFailure condition) is the ReplicaSet's.
"""

from __future__ import annotations

from boxk8s.client import Kind
from boxk8s.controllers.replicaset import ReplicaSetController


class ReplicationManager(ReplicaSetController):
    name = "replication-controller"  # the component upstream's events name
    kind = Kind.REPLICATIONCONTROLLER
