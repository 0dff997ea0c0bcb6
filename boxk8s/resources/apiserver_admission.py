"""The admission plugins kube-apiserver enables by default that boxk8s implements, in its order.

Upstream's recommended order (pkg/kubeapiserver/options/plugins.go): NamespaceLifecycle (here
in layer.py: a terminating namespace takes no new content), LimitRanger, ServiceAccount, …,
Priority, …, DefaultStorageClass, …, MutatingAdmissionWebhook, ValidatingAdmissionPolicy
(admission_policy.py), ValidatingAdmissionWebhook (one plugin with the mutating one here:
admission_webhook.py; its validate runs after the policies'), ResourceQuota last, so that quota
charges only what every other plugin has let through.
"""

from __future__ import annotations

from boxk8s.resources.admission_classes import DefaultStorageClassAdmission, PriorityAdmission
from boxk8s.resources.admission_limitranger import LimitRanger
from boxk8s.resources.admission_plugins import Admission, AdmissionPlugin
from boxk8s.resources.admission_policy import ValidatingAdmissionPolicyPlugin
from boxk8s.resources.admission_quota import ResourceQuotaAdmission
from boxk8s.resources.admission_serviceaccount import ServiceAccountAdmission
from boxk8s.resources.admission_webhook import Webhooks


def apiserver_admission(*, service_accounts: bool = True) -> Admission:
    """The chain. `service_accounts=False` leaves out the ServiceAccount plugin, for a resource
    layer without the ServiceAccount controller beside it (tests that build one bare), where no
    `default` account would ever appear."""
    plugins: list[AdmissionPlugin] = [LimitRanger()]
    if service_accounts:
        plugins.append(ServiceAccountAdmission())
    plugins += [PriorityAdmission(), DefaultStorageClassAdmission(), ValidatingAdmissionPolicyPlugin(), Webhooks(),
                ResourceQuotaAdmission()]
    return Admission(plugins)
