"""The cluster: placement (placement.py), assembly (components.py, then workloads.py, which this
package does not import: `boxk8s up` imports it on a thread while the API starts), supervision
(supervisor.py), readiness (readiness.py), and `boxk8s up` (cluster.py)."""

from boxk8s.cluster.bootstrap import bootstrap
from boxk8s.cluster.cluster import GC_YOUNG_THRESHOLD, Cluster, Ready, tune_gc
from boxk8s.cluster.components import Components, assemble
from boxk8s.cluster.placement import place
from boxk8s.cluster.running import running
from boxk8s.cluster.supervisor import supervise

__all__ = ["GC_YOUNG_THRESHOLD", "Cluster", "Components", "Ready", "assemble", "bootstrap", "place", "running",
           "supervise", "tune_gc"]
