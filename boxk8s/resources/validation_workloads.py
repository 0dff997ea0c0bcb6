"""Validation of pods and of the workloads that hold pod templates (pkg/apis/core/validation
ValidatePodSpec; pkg/apis/apps/validation; pkg/apis/batch/validation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from boxk8s.resources.field_errors import (
    INVALID,
    FieldError,
    invalid,
    not_found,
    not_supported,
    required,
)
from boxk8s.resources.names import dns1123_label, port_name, port_number
from boxk8s.resources.selectors import label_selector_matches
from boxk8s.resources.validation_common import (
    PROTOCOLS,
    dict_items,
    validate_labels,
    validate_selector,
    validate_unique_name,
)

# pods ----------------------------------------------------------------------------------------

_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]


def validate_pod_spec(spec: Any, path: str, restart_policies: list[str] | None = None,
                      claim_volumes: Iterable[str] = ()) -> list[FieldError]:
    """`claim_volumes`: names a StatefulSet's volumeClaimTemplates add to its pods (mounts may use them)."""
    errs: list[FieldError] = []
    if not isinstance(spec, dict):
        return [required(f"{path}.containers")]
    volumes: set[str] = set()
    for i, vol in dict_items(spec.get("volumes")):
        vname = vol.get("name")
        if isinstance(vname, str) and vname:
            errs += validate_unique_name(f"{path}.volumes[{i}].name", vname, dns1123_label, volumes)
    names: set[str] = set()
    containers = spec.get("containers")
    if not containers:
        errs.append(required(f"{path}.containers"))
    mountable = volumes | set(claim_volumes)
    for field_name in ("initContainers", "containers"):
        for i, c in dict_items(spec.get(field_name)):
            errs += _validate_container(c, f"{path}.{field_name}[{i}]", names, mountable)
    # An absent restartPolicy is what defaulting turns into "Always".
    policy = spec.get("restartPolicy") or "Always"
    allowed = restart_policies or _RESTART_POLICIES
    if isinstance(policy, str) and policy not in allowed:
        errs.append(not_supported(f"{path}.restartPolicy", policy, allowed))
    dns = spec.get("dnsPolicy")
    if isinstance(dns, str) and dns not in _DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    errs += _non_negative(spec, path, ("terminationGracePeriodSeconds",))
    return errs


def _validate_container(c: dict[str, Any], path: str, names: set[str], volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    name = c.get("name")
    if not name:
        errs.append(required(f"{path}.name"))
    elif isinstance(name, str):
        errs += validate_unique_name(f"{path}.name", name, dns1123_label, names)
    image = c.get("image")
    if not image:
        errs.append(required(f"{path}.image"))
    pull = c.get("imagePullPolicy")
    if isinstance(pull, str) and pull not in _PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    port_names: set[str] = set()
    for i, p in dict_items(c.get("ports")):
        pp = f"{path}.ports[{i}]"
        cp = p.get("containerPort")
        if not cp:
            errs.append(required(f"{pp}.containerPort"))
        elif isinstance(cp, int):
            errs += [invalid(f"{pp}.containerPort", cp, m) for m in port_number(cp)]
        hp = p.get("hostPort")
        if isinstance(hp, int) and hp != 0:
            errs += [invalid(f"{pp}.hostPort", hp, m) for m in port_number(hp)]
        pname = p.get("name")
        if isinstance(pname, str) and pname:
            errs += validate_unique_name(f"{pp}.name", pname, port_name, port_names)
        proto = p.get("protocol")
        if isinstance(proto, str) and proto not in PROTOCOLS:
            errs.append(not_supported(f"{pp}.protocol", proto, PROTOCOLS))
    for i, m in dict_items(c.get("volumeMounts")):
        mname = m.get("name")
        if isinstance(mname, str) and mname and mname not in volumes:
            errs.append(not_found(f"{path}.volumeMounts[{i}].name", mname))
    return errs


def _validate_template(template: Any, path: str, restart_policies: list[str],
                       claim_volumes: Iterable[str] = ()) -> list[FieldError]:
    if not isinstance(template, dict):
        return [required(f"{path}.spec.containers")]
    errs: list[FieldError] = []
    meta = template.get("metadata")
    if isinstance(meta, dict):
        errs += validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    errs += validate_pod_spec(template.get("spec"), f"{path}.spec", restart_policies, claim_volumes)
    return errs


# workloads -----------------------------------------------------------------------------------


KindCheck = Callable[[dict[str, Any]], list[FieldError]]  # object -> its errors
SpecCheck = Callable[[dict[str, Any]], list[FieldError]]  # spec (a dict) -> its errors


def _non_negative(spec: dict[str, Any], path: str, names: tuple[str, ...]) -> list[FieldError]:
    """ValidateNonnegativeField for each of the integer fields `names` of `spec`."""
    return [invalid(f"{path}.{f}", v, "must be greater than or equal to 0")
            for f in names if isinstance(v := spec.get(f), int) and not isinstance(v, bool) and v < 0]


def _spec_check(needed: str) -> Callable[[SpecCheck], KindCheck]:
    """A kind's check of its spec; an object without a spec object misses `spec.<needed>`."""
    def wrap(check: SpecCheck) -> KindCheck:
        def run(obj: dict[str, Any]) -> list[FieldError]:
            spec = obj.get("spec")
            return check(spec) if isinstance(spec, dict) else [required(f"spec.{needed}")]
        return run
    return wrap


def workload_check(kind_word: str, restart: list[str], template_required: bool = True) -> KindCheck:
    """The checks of a Deployment, ReplicaSet, StatefulSet or DaemonSet (`kind_word` names it in
    the empty-selector message)."""
    @_spec_check("selector")
    def check(spec: dict[str, Any]) -> list[FieldError]:
        errs = _non_negative(spec, "spec", ("replicas", "minReadySeconds", "revisionHistoryLimit",
                                            "progressDeadlineSeconds"))
        selector = spec.get("selector")
        if isinstance(selector, dict):
            errs += validate_selector(selector, "spec.selector")
            if not selector.get("matchLabels") and not selector.get("matchExpressions"):
                errs.append(FieldError(
                    "spec.selector",
                    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                    f"empty selector is invalid for {kind_word}",
                    INVALID,
                ))
        template = spec.get("template")
        if template is None and not template_required:
            return errs
        labels = ((template or {}).get("metadata") or {}).get("labels") or {}
        if not isinstance(selector, dict) or not label_selector_matches(selector, labels):
            errs.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
        claims = [(c.get("metadata") or {}).get("name") for _, c in dict_items(spec.get("volumeClaimTemplates"))]
        errs += _validate_template(template, "spec.template", restart, [c for c in claims if isinstance(c, str)])
        return errs

    return check


def _validate_job_spec(spec: Any, path: str) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(f"{path}.template")]
    errs = _non_negative(spec, path, ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"))
    selector = spec.get("selector")
    template = spec.get("template")
    if spec.get("manualSelector") is True or isinstance(selector, dict):
        labels = ((template or {}).get("metadata") or {}).get("labels") or {}
        if isinstance(selector, dict) and not label_selector_matches(selector, labels):
            errs.append(invalid(f"{path}.template.metadata.labels", labels,
                                "`selector` does not match template `labels`"))
    errs += _validate_template(template, f"{path}.template", ["OnFailure", "Never"])
    return errs


def check_job(obj: dict[str, Any]) -> list[FieldError]:
    return _validate_job_spec(obj.get("spec"), "spec")


_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


@_spec_check("schedule")
def check_cronjob(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    schedule = spec.get("schedule")
    if isinstance(schedule, str) and schedule:
        fields = schedule.split()
        if fields and fields[0].startswith(("TZ=", "CRON_TZ=")):
            errs.append(invalid("spec.schedule", schedule,
                                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
        elif not (len(fields) == 5 or (len(fields) == 1 and fields[0] in _CRON_MACROS)
                  or (len(fields) == 2 and fields[0] == "@every")):
            errs.append(invalid("spec.schedule", schedule,
                                f"expected exactly 5 fields, found {len(fields)}: {schedule}"))
    policy = spec.get("concurrencyPolicy")
    allowed = ["Allow", "Forbid", "Replace"]
    if isinstance(policy, str) and policy not in allowed:
        errs.append(not_supported("spec.concurrencyPolicy", policy, allowed))
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        errs += _validate_job_spec(job_template.get("spec"), "spec.jobTemplate.spec")
    return errs


def check_pod(obj: dict[str, Any]) -> list[FieldError]:
    return validate_pod_spec(obj.get("spec"), "spec")
