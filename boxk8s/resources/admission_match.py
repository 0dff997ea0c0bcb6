"""Which admission requests a policy's MatchResources selects: pure predicates over plain data.

admission/plugin/policy/matching.Matcher.Matches over upstream's webhook/predicates, whose rule
matcher and request (the webhooks') are admission_webhook_match's:
a `matchResources` (or a policy's `matchConstraints`) selects a request when its namespaceSelector
and objectSelector select it, no excludeResourceRules rule does, and a resourceRules rule does
(exactly, or with `matchPolicy: Equivalent` through the same resource served at another version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from boxk8s import errors
from boxk8s.resources.admission_webhook_match import Request, rule_matches
from boxk8s.resources.selectors import selector_from_label_selector

Obj = dict[str, Any]


@dataclass(frozen=True)
class GVR:
    group: str
    version: str
    resource: str


@dataclass(frozen=True)
class Equivalent:
    """The same resource served at another version (EquivalentResourceMapper): its kind there."""

    resource: GVR
    kind: str


@dataclass(frozen=True)
class Match:
    matches: bool
    resource: GVR | None = None  # the resource the matching rule named (an equivalent's, maybe)
    kind: str = ""
    error: str = ""  # a selector that cannot be parsed: a configuration error


NO_MATCH = Match(False)


def is_namespace(req: Request) -> bool:
    return req.group == "" and req.resource == "namespaces"


def _gvr(req: Request) -> GVR:
    return GVR(req.group, req.version, req.resource)


def _named(rule: Mapping[str, Any], req: Request) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or req.name in names


def matches_resource_rules(rules: Sequence[Mapping[str, Any]], match_policy: str | None, req: Request,
                           equivalents: Sequence[Equivalent] = ()) -> Match:
    """matching.matchesResourceRules: the first rule selecting the request as it is, else (with
    `Equivalent`) the first selecting one of its equivalent resources."""
    for rule in rules:
        if rule_matches(rule, req) and _named(rule, req):
            return Match(True, _gvr(req), req.kind)
    if match_policy != "Equivalent":
        return NO_MATCH
    for rule in rules:
        for eq in equivalents:
            if eq.resource != _gvr(req) and rule_matches(rule, req, eq.resource.version) and _named(rule, req):
                return Match(True, eq.resource, eq.kind)
    return NO_MATCH


def _selector(selector: Any) -> Any:
    """The parsed selector, or the parse error's message (validation keeps this rare)."""
    try:
        return selector_from_label_selector(selector if isinstance(selector, Mapping) else {})
    except errors.BadRequest as e:
        return e.message


def namespace_selector_matches(selector: Any, req: Request,
                               namespace_labels: Mapping[str, str] | None) -> tuple[bool, str]:
    """namespace.Matcher.MatchNamespaceSelector: cluster-scoped objects (but Namespaces) are never
    exempted; a Namespace is judged by its own labels; `namespace_labels` None: not found."""
    if not req.namespace and req.resource != "namespaces":
        return True, ""
    parsed = _selector(selector)
    if isinstance(parsed, str):
        return False, parsed
    if parsed.empty():
        return True, ""
    if is_namespace(req):
        obj = req.old if req.operation == "DELETE" else req.obj
        namespace_labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    if namespace_labels is None:
        return False, f'namespaces "{req.namespace}" not found'
    return parsed(namespace_labels), ""


def object_selector_matches(selector: Any, req: Request) -> tuple[bool, str]:
    """object.Matcher.MatchObjectSelector: the new object's labels or the old one's."""
    parsed = _selector(selector)
    if isinstance(parsed, str):
        return False, parsed
    if parsed.empty():
        return True, ""
    return any(o is not None and parsed((o.get("metadata") or {}).get("labels") or {})
               for o in (req.obj, req.old)), ""


def match_resources(match: Mapping[str, Any] | None, req: Request, namespace_labels: Mapping[str, str] | None,
                    equivalents: Sequence[Equivalent] = ()) -> Match:
    """matching.Matcher.Matches over a MatchResources. Selector errors count only once the rules
    select the request (a policy for other objects never fails them)."""
    match = match or {}
    # The rules first (upstream looks at the selectors first; the answer is the same, and most
    # policies are for other resources: their selectors need not be parsed).
    policy = match.get("matchPolicy")
    rules = match.get("resourceRules") or ()
    found = matches_resource_rules(rules, policy, req, equivalents) if rules else Match(True, _gvr(req), req.kind)
    if not found.matches:
        return NO_MATCH
    if matches_resource_rules(match.get("excludeResourceRules") or (), policy, req, equivalents).matches:
        return NO_MATCH
    ns_ok, ns_error = namespace_selector_matches(match.get("namespaceSelector"), req, namespace_labels)
    if not ns_ok and not ns_error:
        return NO_MATCH
    obj_ok, obj_error = object_selector_matches(match.get("objectSelector"), req)
    if not obj_ok and not obj_error:
        return NO_MATCH
    if ns_error or obj_error:
        return Match(False, error=ns_error or obj_error)
    return found
