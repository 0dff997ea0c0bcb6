"""The admission plugins kube-apiserver enables by default that boxk8s implements, in its order.

Upstream's recommended order (pkg/kubeapiserver/options/plugins.go): NamespaceLifecycle (here
in layer.py: a terminating namespace takes no new content), LimitRanger, ServiceAccount, …,
ResourceQuota last, so that quota charges only what every other plugin has let through.
"""

from __future__ import annotations

from boxk8s.resources.admission_limitranger import LimitRanger
from boxk8s.resources.admission_plugins import Admission
from boxk8s.resources.admission_quota import ResourceQuotaAdmission
from boxk8s.resources.admission_serviceaccount import ServiceAccountAdmission


def apiserver_admission() -> Admission:
    return Admission([LimitRanger(), ServiceAccountAdmission(), ResourceQuotaAdmission()])
