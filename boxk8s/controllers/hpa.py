"""The HorizontalPodAutoscaler controller (upstream pkg/controller/podautoscaler/horizontal.go).

Every sync period (--horizontal-pod-autoscaler-sync-period, 15 s) each autoscaling/v2 HPA is
reconciled: read its target through the `scale` subresource (Deployment, ReplicaSet,
StatefulSet, ReplicationController), compute a replica count for each metric (Resource and
ContainerResource, cpu or memory, Utilization of the pods' requests or AverageValue:
hpa_replicas.py, over the cluster's MetricsSource as the REST metrics client reads
metrics.k8s.io), take the highest, normalize it (stabilization windows, behavior policies,
min/max: hpa_behavior.py), write the target's scale when it changes, and write the status
(currentReplicas, desiredReplicas, currentMetrics, lastScaleTime, and the AbleToScale,
ScalingActive and ScalingLimited conditions) with upstream's reasons, messages and Events.

As upstream, an HPA is first synced one period after it is seen (its queue adds every key with
the period's delay), and changes to it are read at its next periodic sync. Pods, Object and
External metrics have no source here (ScalingActive False, as on a cluster without a custom or
external metrics API).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import object_key
from boxk8s.client.metrics import MetricsSource, pods_with_usage
from boxk8s.config import ControllerSettings
from boxk8s.controllers.base import Controller
from boxk8s.controllers.hpa_behavior import (
    Recommendation,
    Rules,
    ScaleEvent,
    convert_with_behavior_rate,
    convert_with_rules,
    scale_down_rules,
    scale_up_rules,
    stabilize,
    stabilize_with_behaviors,
    store_scale_event,
)
from boxk8s.controllers.hpa_replicas import (
    MetricsError,
    Tuning,
    raw_resource_replicas,
    resource_metrics,
    resource_replicas,
)
from boxk8s.events import NORMAL, WARNING, EventRecorder
from boxk8s.resources import registry, selectors
from boxk8s.resources.meta import format_timestamp
from boxk8s.resources.quantity import QuantityError, canonical_decimal, milli_value
from boxk8s.resources.registry import ResourceType

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACE_INDEX = "namespace"
DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization: the metric of an HPA that lists none


class _Failure(Exception):
    """computeReplicasForMetric's error and the ScalingActive condition it proposes."""

    def __init__(self, message: str, reason: str, condition_message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.condition_message = condition_message


class _Stop(Exception):
    """A sync that ends early, its status already decided (upstream returns an error there)."""


@dataclass
class _Sync:
    """One reconcileAutoscaler: the HPA's conditions as they are being set."""

    hpa: Obj
    key: str
    now: float
    conditions: list[Obj]

    def set_condition(self, ctype: str, status: bool, reason: str, message: str) -> None:
        """setCondition: lastTransitionTime moves only when the status does."""
        value = "True" if status else "False"
        found = next((c for c in self.conditions if c.get("type") == ctype), None)
        if found is None:
            found = {"type": ctype}
            self.conditions.append(found)
        if found.get("status") != value:
            found["lastTransitionTime"] = format_timestamp(self.now)
        found.update(status=value, reason=reason, message=message)


def target_resource(ref: Obj, kinds: Iterable[ResourceType] = registry.RESOURCES) -> ResourceType:
    """The kind a scaleTargetRef names, by group and kind (the RESTMapper's RESTMappings), among
    `kinds` (the cluster's: custom resources with a scale subresource too)."""
    api_version = ref.get("apiVersion", "")
    if api_version.count("/") > 1:
        raise _Failure(f"unexpected GroupVersion string: {api_version}", "", "")
    group = api_version.partition("/")[0] if "/" in api_version else ""
    kind = ref.get("kind", "")
    found = [rt for rt in kinds if rt.group == group and rt.kind == kind]
    if not found:
        raise _Failure(f'no matches for kind "{kind}" in group "{group}"', "", "")
    with_scale = [rt for rt in found if "scale" in rt.subresources]
    if not with_scale:
        raise _Failure("the server could not find the requested resource", "", "")
    return with_scale[0]


class HorizontalController(Controller):
    name = "horizontal-pod-autoscaler"
    workers = 5  # --concurrent-horizontal-pod-autoscaler-syncs

    def __init__(self, client: Client, factory: InformerFactory, recorder: EventRecorder | None = None, *,
                 settings: ControllerSettings | None = None, metrics: MetricsSource | None = None,
                 now: Callable[[], float] = time.time) -> None:
        super().__init__(client, factory, recorder or EventRecorder(client, self.name, clock=now))
        self.settings = settings or ControllerSettings()
        self.metrics = metrics
        self.now = now
        self.tuning = Tuning(self.settings.hpa_tolerance, self.settings.hpa_cpu_initialization_seconds,
                             self.settings.hpa_initial_readiness_delay_seconds)
        assert Kind.HPA is not None
        self.hpas = factory.informer(Kind.HPA)
        self.pods = factory.informer(Kind.POD)
        self.pods.add_index(NAMESPACE_INDEX, lambda p: [p["metadata"].get("namespace", "")])
        self.hpas.add_handler(self._on_hpa)
        self.recommendations: dict[str, list[Recommendation]] = {}
        self.up_events: dict[str, list[ScaleEvent]] = {}
        self.down_events: dict[str, list[ScaleEvent]] = {}
        self.selectors: dict[str, selectors.Selector] = {}  # the hpaSelectors map: each HPA's pod selector
        self._known: set[str] = set()

    def _on_hpa(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        if new is None or kind == "DELETED":
            if old is not None:
                self.queue.add(object_key(old))  # reconcile finds it gone and forgets it
            return
        key = object_key(new)
        if key not in self._known:  # later changes are read at the next periodic sync, as upstream
            self._known.add(key)
            self.queue.add_after(key, self.settings.hpa_sync_seconds)

    def _forget(self, key: str) -> None:
        """The HPA is gone: drop what was kept of it (upstream's reconcileKey on NotFound)."""
        self.recommendations.pop(key, None)
        self.up_events.pop(key, None)
        self.down_events.pop(key, None)
        self.selectors.pop(key, None)
        self._known.discard(key)

    async def reconcile(self, key: str) -> float | None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self._forget(key)
            return None
        try:
            await self._reconcile_autoscaler(copy.deepcopy(hpa), key)
        except _Stop:
            pass
        except errors.ApiError as e:  # a status write that failed: the next sync tries again
            log.warning("hpa/%s: %s", key, e.message)
        return self.settings.hpa_sync_seconds

    # ---- reconcileAutoscaler ------------------------------------------------------------------
    async def _reconcile_autoscaler(self, hpa: Obj, key: str) -> None:
        now = self.now()
        spec = hpa.get("spec") or {}
        status = hpa.get("status") or {}
        sync = _Sync(hpa, key, now, copy.deepcopy(status.get("conditions") or []))
        ns = hpa["metadata"]["namespace"]
        ref = spec.get("scaleTargetRef") or {}
        try:
            rt = target_resource(ref, self.client.resources.kinds.all())
            scale = await self.client.get_scale(rt, ns, ref.get("name", ""))
        except (_Failure, errors.ApiError) as e:
            message = e.message if isinstance(e, errors.ApiError) else str(e)
            await self.recorder.event(hpa, WARNING, "FailedGetScale", message)
            sync.set_condition("AbleToScale", False, "FailedGetScale",
                               f"the HPA controller was unable to get the target's current scale: {message}")
            await self._write(hpa, {**status, "conditions": sync.conditions})
            return
        sync.set_condition("AbleToScale", True, "SucceededGetScale",
                           "the HPA controller was able to get the target's current scale")
        current = int(scale["spec"].get("replicas") or 0)
        self.recommendations.setdefault(key, [Recommendation(current, now)])  # recordInitialRecommendation

        min_replicas = spec["minReplicas"] if spec.get("minReplicas") is not None else 1
        max_replicas = int(spec.get("maxReplicas") or 0)
        behavior = spec.get("behavior")
        statuses: list[Obj] | None = None
        desired, reason, rescale = 0, "", True
        if current == 0 and min_replicas != 0:
            rescale = False
            sync.set_condition("ScalingActive", False, "ScalingDisabled",
                               "scaling is disabled since the replica count of the target is zero")
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            proposed, metric, statuses, error = await self._compute_replicas_for_metrics(sync, scale)
            if error and proposed == -1:
                await self._write(hpa, self._status(status, sync, current, status.get("desiredReplicas", 0),
                                                    statuses, False))
                await self.recorder.event(hpa, WARNING, "FailedComputeMetricsReplicas", error)
                raise _Stop
            if error:
                log.info("hpa/%s: scaling on the valid metrics: %s", key, error)
            rescale_metric = ""
            if proposed > desired:
                desired, rescale_metric = proposed, metric
            if desired > current:
                reason = f"{rescale_metric} above target"
            if desired < current:
                reason = "All metrics below target"
            if behavior is None:
                desired = self._normalize(sync, current, desired, min_replicas, max_replicas)
            else:
                desired = self._normalize_with_behaviors(sync, behavior, current, desired, min_replicas, max_replicas)
            rescale = desired != current

        if rescale:
            try:
                await self.client.update_scale(rt, {**scale, "spec": {**scale["spec"], "replicas": desired}})
            except errors.ApiError as e:
                await self.recorder.event(hpa, WARNING, "FailedRescale",
                                          f"New size: {desired}; reason: {reason}; error: {e.message}")
                sync.set_condition("AbleToScale", False, "FailedUpdateScale",
                                   f"the HPA controller was unable to update the target scale: {e.message}")
                await self._write(hpa, self._status(status, sync, current, status.get("desiredReplicas", 0),
                                                    statuses, False))
                return
            sync.set_condition("AbleToScale", True, "SucceededRescale",
                               f"the HPA controller was able to update the target scale to {desired}")
            await self.recorder.event(hpa, NORMAL, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            self._store_scale_event(behavior, key, current, desired, now)
            log.info("hpa/%s: rescaled %s from %d to %d: %s", key, ref.get("name"), current, desired, reason)
        else:
            desired = current
        await self._write(hpa, self._status(status, sync, current, desired, statuses, rescale))

    def _status(self, old: Obj, sync: _Sync, current: int, desired: int, statuses: list[Obj] | None,
                rescale: bool) -> Obj:
        """setStatus: the status rebuilt, lastScaleTime moved on a rescale."""
        return {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "lastScaleTime": format_timestamp(sync.now) if rescale else old.get("lastScaleTime"),
            "currentMetrics": statuses,
            "conditions": sync.conditions,
        }

    async def _write(self, hpa: Obj, status: Obj) -> None:
        """updateStatusIfNeeded: a field absent from the new status is removed (None in a merge patch)."""
        patch = {k: status.get(k) for k in ("currentReplicas", "desiredReplicas", "lastScaleTime", "currentMetrics",
                                            "conditions", "observedGeneration")}
        await self.write_status(Kind.HPA, hpa, patch)  # type: ignore[arg-type]

    # ---- computeReplicasForMetrics ------------------------------------------------------------
    async def _compute_replicas_for_metrics(self, sync: _Sync, scale: Obj) -> tuple[int, str, list[Obj] | None, str]:
        """(replicas or -1, the metric that gave them, the metric statuses, an error message)."""
        try:
            pods = await self._validate_and_parse_selector(sync, (scale.get("status") or {}).get("selector") or "")
        except _Failure as f:
            return -1, "", None, str(f)
        specs = (sync.hpa.get("spec") or {}).get("metrics") or [{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}},
        }]
        spec_replicas = int(scale["spec"].get("replicas") or 0)
        statuses: list[Obj] = [{"type": ""} for _ in specs]
        replicas, metric, invalid = 0, "", 0
        first: _Failure | None = None
        for i, metric_spec in enumerate(specs):
            try:
                proposal, name, statuses[i] = await self._compute_replicas_for_metric(sync, metric_spec, spec_replicas,
                                                                                      pods)
            except _Failure as f:
                first = first or f
                invalid += 1
                continue
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        error = ""
        if first is not None:
            error = f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first}"
        if invalid >= len(specs) or (invalid > 0 and replicas < spec_replicas):
            assert first is not None
            sync.set_condition("ScalingActive", False, first.reason, first.condition_message)
            return -1, "", statuses, error
        sync.set_condition("ScalingActive", True, "ValidMetricFound",
                           f"the HPA was able to successfully calculate a replica count from {metric}")
        return replicas, metric, statuses, error

    async def _validate_and_parse_selector(self, sync: _Sync, text: str) -> list[Obj]:
        """validateAndParseSelector: the target's pods, if its selector is there, parses, and no
        other HPA selects any of them. Records the event and sets ScalingActive otherwise."""
        hpa, key = sync.hpa, sync.key
        if not text:
            await self.recorder.event(hpa, WARNING, "SelectorRequired", "selector is required")
            sync.set_condition("ScalingActive", False, "InvalidSelector", "the HPA target's scale is missing a selector")
            raise _Failure("selector is required", "", "")
        try:
            parsed = selectors.parse_label_selector(text)
        except errors.BadRequest as e:
            message = f"couldn't convert selector into a corresponding internal selector object: {e.message}"
            await self.recorder.event(hpa, WARNING, "InvalidSelector", message)
            sync.set_condition("ScalingActive", False, "InvalidSelector", message)
            raise _Failure(message, "", "") from e
        self.selectors[key] = parsed
        ns = hpa["metadata"]["namespace"]
        pods = [p for p in self.pods.by_index(NAMESPACE_INDEX, ns) if parsed(p["metadata"].get("labels"))]
        owners = sorted(k for k, s in self.selectors.items()
                        if k.partition("/")[0] == ns and any(s(p["metadata"].get("labels")) for p in pods))
        if len(owners) > 1:
            message = f"pods by selector {text} are controlled by multiple HPAs: [{' '.join(owners)}]"
            await self.recorder.event(hpa, WARNING, "AmbiguousSelector", message)
            sync.set_condition("ScalingActive", False, "AmbiguousSelector", message)
            raise _Failure(message, "", "")
        return pods

    async def _compute_replicas_for_metric(self, sync: _Sync, spec: Obj, spec_replicas: int, pods: list[Obj]
                                     ) -> tuple[int, str, Obj]:
        """computeReplicasForMetric for the metric types this cluster has a source for."""
        kind = spec.get("type", "")
        if kind == "Resource":
            source = spec.get("resource") or {}
            name = source.get("name", "")
            try:
                replicas, current, metric = self._resource_generic(spec_replicas, source.get("target") or {}, name,
                                                                    pods, "", "Resource", sync.now)
            except MetricsError as e:
                raise await self._unable(sync, "FailedGetResourceMetric", str(e),
                                   f"failed to get {name} resource metric value: {e}") from e
            return replicas, metric, {"type": "Resource", "resource": {"name": name, "current": current}}
        if kind == "ContainerResource":
            source = spec.get("containerResource") or {}
            name, container = source.get("name", ""), source.get("container", "")
            try:
                replicas, current, metric = self._resource_generic(spec_replicas, source.get("target") or {}, name,
                                                                    pods, container, kind, sync.now)
            except MetricsError as e:
                raise await self._unable(sync, "FailedGetContainerResourceMetric", str(e),
                                   f"failed to get {container} container metric value: {e}") from e
            return replicas, metric, {"type": kind, "containerResource": {"name": name, "container": container,
                                                                         "current": current}}
        if kind in ("Pods", "Object"):
            metric_name = ((spec.get(kind.lower()) or {}).get("metric") or {}).get("name", "")
            err = (f"unable to get metric {metric_name}: unable to fetch metrics from custom metrics API: "
                   "no custom metrics API (custom.metrics.k8s.io) registered")
            raise await self._unable(sync, f"FailedGet{kind}Metric", err, f"failed to get {kind.lower()} metric value: {err}")
        if kind == "External":
            metric_name = ((spec.get("external") or {}).get("metric") or {}).get("name", "")
            err = (f"unable to get external metric {metric_name}: unable to fetch metrics from external metrics API: "
                   "no external metrics API (external.metrics.k8s.io) registered")
            raise await self._unable(sync, "FailedGetExternalMetric", err,
                               f"failed to get {metric_name} external metric value: {err}")
        err = f'unknown metric source type "{kind}"'
        raise await self._unable(sync, "InvalidMetricSourceType", err, err)

    async def _unable(self, sync: _Sync, reason: str, err: str, message: str) -> _Failure:
        """getUnableComputeReplicaCountCondition: a Warning, and the ScalingActive condition proposed."""
        await self.recorder.event(sync.hpa, WARNING, reason, err)
        return _Failure(message, reason, f"the HPA was unable to compute the replica count: {err}")

    def _resource_generic(self, current: int, target: Obj, resource: str, pods: list[Obj], container: str,
                          source_type: str, now: float) -> tuple[int, Obj, str]:
        """computeStatusForResourceMetricGeneric: (replicas, MetricValueStatus, metric name)."""
        if target.get("averageValue") is not None:
            try:
                target_usage = milli_value(target["averageValue"])
                metrics, _ = self._fetch(pods, resource, container)
                replicas, usage = raw_resource_replicas(current, target_usage, resource, pods, metrics,
                                                        self.tuning, now)
            except (MetricsError, QuantityError) as e:
                raise MetricsError(f"failed to get {resource} usage: {e}") from e
            return replicas, {"averageValue": canonical_decimal(usage, -3)}, f"{resource} resource"
        if target.get("averageUtilization") is None:
            raise MetricsError("invalid resource metric source: neither an average utilization target nor an "
                               "average value (usage) target was set")
        try:
            metrics, _ = self._fetch(pods, resource, container)
            replicas, utilization, raw = resource_replicas(current, int(target["averageUtilization"]), resource,
                                                           pods, metrics, self.tuning, now, container)
        except MetricsError as e:
            raise MetricsError(f"failed to get {resource} utilization: {e}") from e
        what = "container resource" if source_type == "ContainerResource" else "resource"
        return (replicas, {"averageUtilization": utilization, "averageValue": canonical_decimal(raw, -3)},
                f"{resource} {what} utilization (percentage of request)")

    def _fetch(self, pods: list[Obj], resource: str, container: str) -> tuple[dict[str, Any], float]:
        """GetResourceMetric: what metrics.k8s.io would list for these pods."""
        try:
            return resource_metrics(pods_with_usage(pods, self.metrics), resource, container)
        except MetricsError as e:
            raise MetricsError(f"unable to get metrics for resource {resource}: {e}") from e

    # ---- normalization ------------------------------------------------------------------------
    def _normalize(self, sync: _Sync, current: int, desired: int, min_replicas: int, max_replicas: int) -> int:
        """normalizeDesiredReplicas (no behavior): the downscale stabilization window, then at most
        max(2 × current, 4) and within min/max."""
        stabilized, self.recommendations[sync.key] = stabilize(
            self.recommendations.get(sync.key, []), desired, self.settings.hpa_downscale_stabilization_seconds,
            sync.now)
        if stabilized != desired:
            sync.set_condition("AbleToScale", True, "ScaleDownStabilized",
                               "recent recommendations were higher than current one, applying the highest recent "
                               "recommendation")
        else:
            sync.set_condition("AbleToScale", True, "ReadyForNewScale", "recommended size matches current size")
        replicas, reason, message = convert_with_rules(current, stabilized, min_replicas, max_replicas)
        sync.set_condition("ScalingLimited", replicas != stabilized, reason, message)
        return replicas

    def _normalize_with_behaviors(self, sync: _Sync, behavior: Obj, current: int, desired: int, min_replicas: int,
                                  max_replicas: int) -> int:
        """normalizeDesiredReplicasWithBehaviors: both stabilization windows, then the policies' rate."""
        up, down = self._rules(behavior)
        stabilized, reason, message, self.recommendations[sync.key] = stabilize_with_behaviors(
            self.recommendations.get(sync.key, []), desired, current, up.stabilization_seconds,
            down.stabilization_seconds, sync.now)
        if stabilized != desired:
            sync.set_condition("AbleToScale", True, reason, message)
        else:
            sync.set_condition("AbleToScale", True, "ReadyForNewScale", "recommended size matches current size")
        replicas, reason, message = convert_with_behavior_rate(
            current, stabilized, min_replicas, max_replicas, up, down, self.up_events.get(sync.key, []),
            self.down_events.get(sync.key, []), sync.now)
        sync.set_condition("ScalingLimited", replicas != stabilized, reason, message)
        return replicas

    def _rules(self, behavior: Obj) -> tuple[Rules, Rules]:
        return (scale_up_rules(behavior.get("scaleUp")),
                scale_down_rules(behavior.get("scaleDown"), int(self.settings.hpa_downscale_stabilization_seconds)))

    def _store_scale_event(self, behavior: Obj | None, key: str, before: int, after: int, now: float) -> None:
        """storeScaleEvent: kept only for an HPA with a behavior (its policies read them)."""
        if behavior is None:
            return
        up, down = self._rules(behavior)
        if after > before:
            self.up_events[key] = store_scale_event(self.up_events.get(key, []), up, after - before, now)
        else:
            self.down_events[key] = store_scale_event(self.down_events.get(key, []), down, before - after, now)
