"""The cluster: assembly (components.py), supervision (supervisor.py), and `boxk8s up` (cluster.py)."""

from boxk8s.cluster.bootstrap import bootstrap
from boxk8s.cluster.cluster import GC_YOUNG_THRESHOLD, Cluster, Ready, tune_gc
from boxk8s.cluster.components import Components, assemble
from boxk8s.cluster.running import running
from boxk8s.cluster.supervisor import supervise

__all__ = ["GC_YOUNG_THRESHOLD", "Cluster", "Components", "Ready", "assemble", "bootstrap", "running", "supervise",
           "tune_gc"]
