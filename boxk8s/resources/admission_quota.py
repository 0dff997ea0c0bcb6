"""The ResourceQuota admission plugin (apiserver/pkg/admission/plugin/resourcequota): a create or
update that would take a namespace past one of its quotas is refused, and one that fits is
charged to the quotas' status.used before it is stored.

`pods "p" is forbidden: exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=800m,
limited: requests.cpu=1`, or `failed quota: q: must specify limits.cpu for: main` (quota.py
decides). Check and charge are serialised per namespace (upstream's evaluator works one
namespace at a time under its lock) and the charge is a compare-and-swap on each quota's
resourceVersion, retried on a fresh read three times, so concurrent creates never both take the
last unit. The quota controller corrects the usage afterwards (objects deleted, writes that
failed after their charge).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.admission_plugins import Attributes, ResourceAccess, forbidden
from boxk8s.resources.quota import Refused, Request, charged, check_request
from boxk8s.resources.quota_evaluators import evaluator_for

RETRIES = 3  # checkQuotas' remainingRetries
FIELD_MANAGER = "resourcequota-admission"


class ResourceQuotaAdmission:
    name = "ResourceQuota"

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.rt = registry.find("", "v1", "resourcequotas")
        self._locks: dict[str, asyncio.Lock] = {}

    def handles(self, attrs: Attributes) -> bool:
        if not attrs.rt.namespaced or not attrs.namespace:
            return False
        evaluator = evaluator_for(attrs.rt.group, attrs.rt.plural)
        return evaluator is not None and evaluator.handles(attrs.operation, attrs.subresource)

    async def admit(self, attrs: Attributes, api: ResourceAccess) -> None:
        return None  # validating only

    async def validate(self, attrs: Attributes, api: ResourceAccess) -> None:
        assert self.rt is not None and attrs.namespace
        if not await api.store.count(self.rt.key_prefix(attrs.namespace)):
            return  # no quota in the namespace: nothing to read or charge
        evaluator = evaluator_for(attrs.rt.group, attrs.rt.plural)
        assert evaluator is not None
        request = Request(attrs.operation, attrs.subresource, attrs.obj, attrs.old)
        lock = self._locks.setdefault(attrs.namespace, asyncio.Lock())
        async with lock:
            quotas, _ = await api.list(self.rt, attrs.namespace)
            for attempt in range(RETRIES + 1):
                try:
                    after = check_request(quotas, request, evaluator, self.clock())
                except Refused as e:
                    raise forbidden(attrs, str(e)) from None
                if attrs.dry_run:
                    return
                failed = await self._charge(api, attrs.namespace, charged(quotas, after))
                if not failed:
                    return
                if attempt == RETRIES:
                    raise errors.conflict("", "resourcequotas", failed[0])
                # Someone else wrote those quotas meanwhile (the controller): look again at them only;
                # the charges that went through stand, as upstream's.
                fresh, _ = await api.list(self.rt, attrs.namespace)
                quotas = [q for q in fresh if q["metadata"]["name"] in failed]

    async def _charge(self, api: ResourceAccess, namespace: str, quotas: list[dict]) -> list[str]:
        """Write each quota's new usage at the revision it was read; the names that conflicted."""
        assert self.rt is not None
        opts = WriteOptions(field_manager=FIELD_MANAGER, trusted=True, field_validation="Ignore",
                            record_managed_fields=False)
        failed = []
        for quota in quotas:
            try:
                await api.update(self.rt, namespace, quota["metadata"]["name"], quota, opts, "status")
            except errors.Conflict:
                failed.append(quota["metadata"]["name"])
            except errors.NotFound:
                continue  # deleted meanwhile: nothing to charge
        return failed
