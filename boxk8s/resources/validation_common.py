"""Validation shared by every kind: object metadata, labels, label selectors (pkg/apis/core/validation
ValidateObjectMeta, metav1validation.ValidateLabels, ValidateLabelSelector)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from boxk8s.resources.field_errors import FieldError, duplicate, forbidden, invalid, required, too_long
from boxk8s.resources.names import dns1123_label, dns1123_subdomain, label_value, qualified_name

PROTOCOLS = ["SCTP", "TCP", "UDP"]


def dict_items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the items of a list that are objects: what the checks can look into."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict):
                yield i, v


def validate_unique_name(path: str, value: str, rule: Callable[[str], list[str]], seen: set[str]) -> list[FieldError]:
    """A list item's name (a container, a volume, a port): valid by `rule` and not one `seen`
    earlier in the list; records it in `seen`."""
    errs = [invalid(path, value, m) for m in rule(value)]
    if value in seen:
        errs.append(duplicate(path, value))
    seen.add(value)
    return errs


_TOTAL_ANNOTATION_SIZE = 256 * 1024


def validate_metadata(meta: dict[str, Any], name_rule: Callable[[str], list[str]] = dns1123_subdomain,
                      path: str = "metadata", need_name: bool = True) -> list[FieldError]:
    errs: list[FieldError] = []
    name = meta.get("name")
    generate = meta.get("generateName")
    if isinstance(generate, str) and generate:
        masked = generate[:-1] if generate.endswith("-") else generate
        for msg in name_rule(masked) if masked else []:
            errs.append(invalid(f"{path}.generateName", generate, msg))
    if isinstance(name, str) and name:
        for msg in name_rule(name):
            errs.append(invalid(f"{path}.name", name, msg))
    elif need_name and not generate:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    ns = meta.get("namespace")
    if isinstance(ns, str) and ns:
        for msg in dns1123_label(ns):
            errs.append(invalid(f"{path}.namespace", ns, msg))
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = 0
        for k, v in annotations.items():
            for msg in qualified_name(k.lower()):
                errs.append(invalid(f"{path}.annotations", k, msg))
            size += len(k) + len(v if isinstance(v, str) else "")
        if size > _TOTAL_ANNOTATION_SIZE:
            errs.append(too_long(f"{path}.annotations", _TOTAL_ANNOTATION_SIZE))
    return errs


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(labels, dict):
        return errs
    for k, v in labels.items():
        for msg in qualified_name(k):
            errs.append(invalid(path, k, msg))
        if isinstance(v, str):
            for msg in label_value(v):
                errs.append(invalid(path, v, msg))
    return errs


_SELECTOR_OPS = ["In", "NotIn", "Exists", "DoesNotExist"]


def validate_selector(selector: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(selector, dict):
        return errs
    errs += validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in dict_items(selector.get("matchExpressions")):
        ep = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            errs.append(required(f"{ep}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist") and values:
            errs.append(forbidden(f"{ep}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        elif isinstance(op, str) and op and op not in _SELECTOR_OPS:
            errs.append(invalid(f"{ep}.operator", op, "not a valid selector operator"))
    return errs
