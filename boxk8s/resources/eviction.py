"""The pods/eviction subresource: delete a pod, unless that would break its PodDisruptionBudget.

As pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create) of Kubernetes 1.32:
- a pod that is Pending, Succeeded, Failed or already terminating is deleted outright;
- otherwise the PDBs of its namespace that select it are read: more than one answers a Failure
  Status with code 500; none deletes the pod;
- an unready pod goes without spending the budget when the PDB says AlwaysAllow, or (default,
  IfHealthyBudget) when the budget is met (currentHealthy >= desiredHealthy > 0), its delete
  pinned to the resourceVersion read (a Conflict there answers 429: it may have turned ready);
- else checkAndDecrement: disruptionsAllowed 0 answers 429 TooManyRequests with a
  DisruptionBudget cause; otherwise disruptionsAllowed is decremented and the pod recorded in
  status.disruptedPods by a status update at the PDB's resourceVersion (a Conflict re-reads the
  PDB and tries again, 20 times 500 ms apart as EvictionsRetry), and the pod is deleted;
- before a (non dry-run) delete the pod gets the DisruptionTarget condition (PodDisruptionConditions,
  GA in 1.31), honouring the Eviction's deleteOptions (grace period, preconditions, dryRun).
The decisions are pure functions below; `evict` performs them against the resource layer.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from boxk8s import errors
from boxk8s.resources import registry, schema
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.deletion import finalized
from boxk8s.resources.disruption import (
    PDB,
    UNHEALTHY_ALWAYS_ALLOW,
    is_pod_ready,
    pdbs_for_pod,
    update_disruption_allowed_condition,
)
from boxk8s.resources.layer import Resources
from boxk8s.resources.meta import format_time

Obj = dict[str, Any]
T = TypeVar("T")

POD = registry.find("", "v1", "pods")
assert POD is not None

EVICTION_DEFINITION = "io.k8s.api.policy.v1.Eviction"
ACCEPTED_API_VERSIONS = ("policy/v1", "policy/v1beta1")  # EvictionREST.AcceptsGroupVersion
MAX_DISRUPTED_POD_SIZE = 2000  # MaxDisruptedPodSize
RETRY_STEPS = 20  # EvictionsRetry: 20 steps, 500 ms apart, jitter 0.1
RETRY_SECONDS = 0.5
TOO_MANY_REQUESTS = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_PDBS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"  # policyv1.DisruptionBudgetCause

# What Create returns: a Status, answered with 201 by the apiserver's create handler (which fills
# in the code of a Status that has none, and writes 201 whatever the Status says).
SUCCESS: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
MULTIPLE_PDBS_STATUS: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": MULTIPLE_PDBS, "code": 500}


# ---- the request ----------------------------------------------------------------------------------

def delete_options_of(body: Any, namespace: str, name: str, query_dry_run: bool, opts: WriteOptions) -> Obj:
    """Decode an Eviction (policy/v1 or policy/v1beta1) posted for pod `namespace/name` and return
    the DeleteOptions of the eviction, dry-run propagated from the query (propagateDryRun)."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body of the request was in an unknown format: expected an Eviction object")
    api_version = body.get("apiVersion")
    if api_version is not None and api_version not in ACCEPTED_API_VERSIONS:
        raise errors.BadRequest(f"the API version in the data ({api_version}) does not match the expected "
                                "API version (policy/v1)")
    kind = body.get("kind")
    if kind is not None and kind != "Eviction":
        raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected kind (Eviction)")
    message = schema.decode_errors(body, EVICTION_DEFINITION)
    if message:
        raise errors.BadRequest(message)
    if opts.field_validation == "Strict":
        message = schema.strict_errors(body, EVICTION_DEFINITION)
        if message:
            raise errors.BadRequest(message)
    elif opts.field_validation == "Warn":
        opts.warnings.extend(schema.unknown_field_warnings(body, EVICTION_DEFINITION))
    md = body.get("metadata") or {}
    if md.get("namespace") and md["namespace"] != namespace:
        raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
    if md.get("name", "") != name:
        raise errors.BadRequest("name in URL does not match name in Eviction object")
    options = copy.deepcopy(body.get("deleteOptions") or {})
    return propagate_dry_run(options, ["All"] if query_dry_run else [])


def propagate_dry_run(options: Obj, query_dry_run: list[str]) -> Obj:
    """propagateDryRun: the query's dryRun goes into the Eviction's deleteOptions; both set and
    different is an error."""
    mine = list(options.get("dryRun") or [])
    if not mine:
        if query_dry_run:
            options["dryRun"] = list(query_dry_run)
        return options
    if query_dry_run and query_dry_run != mine:
        raise errors.InternalError(f"Non-matching dry-run options in request and content: "
                                   f"[{' '.join(query_dry_run)}] and [{' '.join(mine)}]")
    return options


# ---- the decisions --------------------------------------------------------------------------------

def is_dry_run(options: Obj) -> bool:
    return bool(options.get("dryRun"))


def can_ignore_pdb(pod: Obj) -> bool:
    """canIgnorePDB: a terminal, pending or terminating pod is deleted without asking its PDB."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def should_enforce_resource_version(pod: Obj) -> bool:
    """shouldEnforceResourceVersion: pin the delete of a pod that could still become ready."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def resource_version_is_unset(options: Obj) -> bool:
    return not (options.get("preconditions") or {}).get("resourceVersion")


def with_resource_version(options: Obj, resource_version: str) -> Obj:
    """setPreconditionsResourceVersion on a copy."""
    out = copy.deepcopy(options)
    out.setdefault("preconditions", {})["resourceVersion"] = resource_version
    return out


def unhealthy_pod_may_go(pod: Obj, pdb: Obj) -> bool:
    """An unready pod is deleted without spending the budget: always under AlwaysAllow; under
    IfHealthyBudget (the default) when the application is not disrupted now."""
    if is_pod_ready(pod):
        return False
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == UNHEALTHY_ALWAYS_ALLOW:
        return True
    status = pdb.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return int(status.get("currentHealthy") or 0) >= desired > 0


def still_processing(pdb_name: str) -> errors.TooManyRequests:
    """createTooManyRequestsError: try again in 10 s (Retry-After), the PDB is not up to date."""
    return errors.TooManyRequests(TOO_MANY_REQUESTS, retry_after=10, causes=[{
        "reason": DISRUPTION_BUDGET_CAUSE,
        "message": f"The disruption budget {pdb_name} is still being processed by the server."}])


def check_and_decrement(pdb: Obj, pod_name: str, now: datetime, dry_run: bool) -> Obj | None:
    """checkAndDecrement: the PDB with one disruption spent on `pod_name` (to write as its status
    at its resourceVersion), None for a dry run that would be allowed; raises what refuses it."""
    name = pdb["metadata"]["name"]
    status = copy.deepcopy(pdb.get("status") or {})
    if int(status.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 0):
        raise still_processing(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise errors.TooManyRequests(TOO_MANY_REQUESTS, causes=[{
            "reason": DISRUPTION_BUDGET_CAUSE,
            "message": f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} healthy pods "
                       f"and has {int(status.get('currentHealthy') or 0)} currently"}])
    status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        update_disruption_allowed_condition(status, now)
    if dry_run:
        return None
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: format_time(now)}
    return {**pdb, "status": status}


def _forbidden(pdb_name: str, reason: str) -> errors.Forbidden:
    """errors.NewForbidden(policy.Resource("poddisruptionbudget"), name, err)."""
    return errors.Forbidden(f'poddisruptionbudget.policy "{pdb_name}" is forbidden: {reason}',
                            name=pdb_name, group="policy", kind="poddisruptionbudget")


def with_disruption_condition(pod: Obj, now: datetime) -> Obj:
    """The pod with DisruptionTarget=True (EvictionByEvictionAPI), as addConditionAndDeletePod's
    conditionAppender (podutil.UpdatePodCondition: the transition time moves only with the status)."""
    new = copy.deepcopy(pod)
    status = new.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    cond = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
            "lastTransitionTime": format_time(now), "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting"}
    for i, old in enumerate(conditions):
        if old.get("type") == "DisruptionTarget":
            if old.get("status") == "True":
                cond["lastTransitionTime"] = old.get("lastTransitionTime")
            cond["lastProbeTime"] = old.get("lastProbeTime")
            conditions[i] = cond
            return new
    conditions.append(cond)
    return new


def check_pod_preconditions(pod: Obj, options: Obj) -> None:
    """getLatestPod: the delete's preconditions hold for the latest pod, else a Conflict."""
    pre = options.get("preconditions") or {}
    md = pod["metadata"]
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise _pod_conflict(md["name"], f"the UID in the precondition ({pre['uid']}) does not match the UID in "
                                        f"record ({md.get('uid')}). The object might have been deleted and then "
                                        "recreated")
    if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
        raise _pod_conflict(md["name"], f"the ResourceVersion in the precondition ({pre['resourceVersion']}) does "
                                        f"not match the ResourceVersion in record ({md.get('resourceVersion')}). "
                                        "The object might have been modified")


def _pod_conflict(name: str, reason: str) -> errors.Conflict:
    """errors.NewConflict(schema.GroupResource{Resource: "Pod"}, name, err)."""
    return errors.Conflict(f'Operation cannot be fulfilled on Pod "{name}": {reason}', name=name, kind="Pod")


# ---- the executor ---------------------------------------------------------------------------------

async def _retry(attempt: Callable[[], Awaitable[T]], retriable: Callable[[Exception], bool]) -> T:
    """retry.OnError(EvictionsRetry, …): the last retriable error once the steps are spent."""
    for step in range(RETRY_STEPS):
        try:
            return await attempt()
        except errors.ApiError as e:
            if not retriable(e) or step == RETRY_STEPS - 1:
                raise
        await asyncio.sleep(RETRY_SECONDS * (1 + 0.1 * random.random()))
    raise AssertionError("unreachable")


def _is_conflict(e: Exception) -> bool:
    return isinstance(e, errors.Conflict)


class Eviction:
    """One eviction request: EvictionREST.Create against the resource layer."""

    def __init__(self, resources: Resources, namespace: str, name: str, options: Obj, manager: str) -> None:
        self.resources = resources
        self.namespace = namespace
        self.name = name
        self.options = options
        self.dry_run = is_dry_run(options)
        self.manager = manager

    def _write_options(self) -> WriteOptions:
        return WriteOptions(field_manager=self.manager, field_validation="Ignore", trusted=True)

    async def run(self) -> Obj:
        """The Status to answer; raises the API error to answer instead."""
        pod: Obj = {}
        deleted = False

        async def delete_if_pdb_can_be_ignored() -> None:
            nonlocal pod, deleted
            pod = await self.resources.get(POD, self.namespace, self.name)
            if not can_ignore_pdb(pod):
                return
            options = self.options
            if should_enforce_resource_version(pod) and resource_version_is_unset(options):
                options = with_resource_version(options, pod["metadata"]["resourceVersion"])
            await self._add_condition_and_delete(options)
            deleted = True

        pinned = not resource_version_is_unset(self.options)
        await _retry(delete_if_pdb_can_be_ignored, (lambda e: False) if pinned else _is_conflict)
        if deleted:
            return SUCCESS

        pdbs, _ = await self.resources.list(PDB, self.namespace)
        matching = pdbs_for_pod(pdbs, pod)
        if len(matching) > 1:
            return MULTIPLE_PDBS_STATUS
        pin_to_pod = False
        pdb_name = ""
        if matching:
            pdb_name = matching[0]["metadata"]["name"]
            if unhealthy_pod_may_go(pod, matching[0]):
                pin_to_pod = True
            else:
                await self._spend_disruption(matching[0])
        options = self.options
        if pin_to_pod:  # the pod must not have turned ready since it was read
            options = with_resource_version(options, pod["metadata"]["resourceVersion"])
        try:
            await self._add_condition_and_delete(options)
        except errors.Conflict:
            if pin_to_pod and not pinned:
                raise still_processing(pdb_name) from None
            raise
        return SUCCESS

    async def _spend_disruption(self, pdb: Obj) -> None:
        """checkAndDecrement under retry.RetryOnConflict: a Conflict re-reads the PDB."""
        current = pdb
        refresh = False

        async def attempt() -> None:
            nonlocal current, refresh
            if refresh:
                current = await self.resources.get(PDB, self.namespace, pdb["metadata"]["name"])
            refresh = True
            new = check_and_decrement(current, self.name, datetime.now(UTC), self.dry_run)
            if new is not None:
                opts = self._write_options()
                opts.record_managed_fields = False
                await self.resources.update(PDB, self.namespace, new["metadata"]["name"], new, opts, "status")

        await _retry(attempt, _is_conflict)

    async def _add_condition_and_delete(self, options: Obj) -> None:
        """addConditionAndDeletePod: DisruptionTarget on the latest pod (preconditions checked
        against it, the pinned resourceVersion moved to the one written), then the delete."""
        if not self.dry_run:
            updated = await self._add_disruption_condition(options)
            if not resource_version_is_unset(options):
                options = with_resource_version(options, updated["metadata"]["resourceVersion"])
        await self.resources.delete(POD, self.namespace, self.name, options, self.dry_run)

    async def _add_disruption_condition(self, options: Obj) -> Obj:
        """The status store's GuaranteedUpdate: re-read and re-apply on a Conflict."""
        for _attempt in range(8):
            pod = await self.resources.get(POD, self.namespace, self.name)
            check_pod_preconditions(pod, options)
            new = with_disruption_condition(pod, datetime.now(UTC))
            if new == pod or finalized(POD, new, pod):
                # Unchanged; or terminating with no grace period left and no finalizers, which a
                # write removes at once (shouldDeleteDuringUpdate): the delete that follows does it.
                return pod
            try:
                return await self.resources.update(POD, self.namespace, self.name, new, self._write_options(),
                                                   "status")
            except errors.Conflict:
                continue
        raise errors.conflict("", "pods", self.name)


async def evict(resources: Resources, namespace: str, name: str, body: Any, query_dry_run: bool,
                opts: WriteOptions) -> Obj:
    """POST …/pods/NAME/eviction: the Status to answer with 201 (Success, or the multiple-PDB
    Failure); raises the API error to answer otherwise (404, 409, 429, …)."""
    options = delete_options_of(body, namespace, name, query_dry_run, opts)
    return await Eviction(resources, namespace, name, options, opts.field_manager).run()
