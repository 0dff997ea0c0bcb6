"""RBAC as a pure decision over plain data: plugin/pkg/auth/authorizer/rbac/rbac.go over
pkg/registry/rbac/validation/rule.go's DefaultRuleResolver and pkg/apis/rbac/v1/evaluation_helpers.go.

`build_policy` turns the stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings into a
`Policy`: rules compiled once, and the bindings indexed by the subjects they name (a user name, a
group, or a ServiceAccount's username), so a decision looks at the few bindings that can apply
instead of every binding, in upstream's order (ClusterRoleBindings, then the namespace's
RoleBindings, each by name). `authorize` and `rules_for` are what the authorizer and the rules
review ask. ClusterRole aggregation is the aggregation controller's job: a ClusterRole's rules are
what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.api.auth.user import UserInfo
from boxk8s.resources.serviceaccount_token import make_username

Obj = dict[str, Any]
ALL = "*"  # VerbAll, APIGroupAll, ResourceAll, NonResourceAll


@dataclass(frozen=True, slots=True)
class Attributes:
    """authorizer.AttributesRecord: who does what to which resource (or non-resource path)."""

    user: UserInfo
    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rbacv1.PolicyRule; `source` is the rule as stored (for the rules review)."""

    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: tuple[str, ...]
    resource_names: frozenset[str]
    non_resource_urls: tuple[str, ...]
    source: Obj = field(compare=False, hash=False)

    @classmethod
    def of(cls, rule: Obj) -> Rule:
        return cls(frozenset(rule.get("verbs") or ()), frozenset(rule.get("apiGroups") or ()),
                   tuple(rule.get("resources") or ()), frozenset(rule.get("resourceNames") or ()),
                   tuple(rule.get("nonResourceURLs") or ()), rule)


def verb_matches(rule: Rule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: Rule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    """ResourceMatches: `*`, the exact resource (`pods/log` for a subresource), or `*/log`."""
    for r in rule.resources:
        if r == ALL or r == combined:
            return True
        if subresource and len(r) == len(subresource) + 2 and r.startswith("*/") and r.endswith(subresource):
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url == ALL or url == path:
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    """RuleAllows."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (verb_matches(rule, attrs.verb) and api_group_matches(rule, attrs.api_group)
                and resource_matches(rule, combined, attrs.subresource) and resource_name_matches(rule, attrs.name))
    return verb_matches(rule, attrs.verb) and non_resource_url_matches(rule, attrs.path)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class Binding:
    kind: str  # ClusterRoleBinding | RoleBinding
    name: str
    namespace: str  # "" for a ClusterRoleBinding
    role_kind: str  # Role | ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]


def _subject_key(subject: Subject, binding_namespace: str) -> tuple[str, str] | None:
    """The index key a subject answers to: (User, name), (Group, name), or a ServiceAccount as the
    User it authenticates as (its namespace defaulting to the binding's: appliesToUser)."""
    if subject.kind in ("User", "Group"):
        return subject.kind, subject.name
    if subject.kind == "ServiceAccount":
        namespace = subject.namespace or binding_namespace
        return ("User", make_username(namespace, subject.name)) if namespace else None
    return None


def applies_to_user(user: UserInfo, subject: Subject, namespace: str) -> bool:
    """appliesToUser."""
    key = _subject_key(subject, namespace)
    if key is None:
        return False
    return user.name == key[1] if key[0] == "User" else key[1] in user.groups


@dataclass(frozen=True)
class Policy:
    cluster_roles: Mapping[str, tuple[Rule, ...]]
    roles: Mapping[tuple[str, str], tuple[Rule, ...]]  # (namespace, name)
    cluster_bindings: tuple[Binding, ...]
    role_bindings: Mapping[str, tuple[Binding, ...]]  # by namespace
    cluster_index: Mapping[tuple[str, str], tuple[int, ...]]  # subject key → positions in cluster_bindings
    role_index: Mapping[str, Mapping[tuple[str, str], tuple[int, ...]]]  # namespace → subject key → positions


EMPTY = Policy({}, {}, (), {}, {}, {})


def _binding(obj: Obj, kind: str) -> Binding:
    md = obj.get("metadata") or {}
    ref = obj.get("roleRef") or {}
    subjects = tuple(Subject(s.get("kind", ""), s.get("name", ""), s.get("namespace") or "")
                     for s in obj.get("subjects") or [])
    return Binding(kind, md.get("name", ""), md.get("namespace") or "", ref.get("kind", ""), ref.get("name", ""), subjects)


def _index(bindings: tuple[Binding, ...]) -> dict[tuple[str, str], tuple[int, ...]]:
    index: dict[tuple[str, str], list[int]] = {}
    for i, b in enumerate(bindings):
        for subject in b.subjects:
            key = _subject_key(subject, b.namespace)
            if key is not None and i not in index.setdefault(key, []):
                index[key].append(i)
    return {k: tuple(v) for k, v in index.items()}


def _by_name(objs: Iterable[Obj]) -> list[Obj]:
    return sorted(objs, key=lambda o: ((o.get("metadata") or {}).get("namespace") or "", o["metadata"]["name"]))


def build_policy(*, roles: Iterable[Obj] = (), cluster_roles: Iterable[Obj] = (), role_bindings: Iterable[Obj] = (),
                 cluster_role_bindings: Iterable[Obj] = ()) -> Policy:
    """The Policy of these stored RBAC objects."""
    compiled_cluster = {o["metadata"]["name"]: tuple(Rule.of(r) for r in o.get("rules") or []) for o in cluster_roles}
    compiled_roles = {(o["metadata"].get("namespace") or "", o["metadata"]["name"]):
                      tuple(Rule.of(r) for r in o.get("rules") or []) for o in roles}
    cluster_bindings = tuple(_binding(o, "ClusterRoleBinding") for o in _by_name(cluster_role_bindings))
    per_ns: dict[str, list[Binding]] = {}
    for o in _by_name(role_bindings):
        b = _binding(o, "RoleBinding")
        per_ns.setdefault(b.namespace, []).append(b)
    namespaced = {ns: tuple(bs) for ns, bs in per_ns.items()}
    return Policy(compiled_cluster, compiled_roles, cluster_bindings, namespaced, _index(cluster_bindings),
                  {ns: _index(bs) for ns, bs in namespaced.items()})


def _describe_subject(subject: Subject, binding_namespace: str) -> str:
    if subject.kind == "ServiceAccount":
        return f'{subject.kind} "{subject.name}/{subject.namespace or binding_namespace}"'
    return f'{subject.kind} "{subject.name}"'


def describe(binding: Binding, subject: Subject) -> str:
    """clusterRoleBindingDescriber / roleBindingDescriber."""
    if binding.kind == "ClusterRoleBinding":
        return (f'ClusterRoleBinding "{binding.name}" of {binding.role_kind} "{binding.role_name}" to '
                f"{_describe_subject(subject, '')}")
    return (f'RoleBinding "{binding.name}/{binding.namespace}" of {binding.role_kind} "{binding.role_name}" to '
            f"{_describe_subject(subject, binding.namespace)}")


def _role_rules(policy: Policy, binding: Binding) -> tuple[Rule, ...] | str:
    """GetRoleReferenceRules: the rules, or the error text."""
    if binding.role_kind == "ClusterRole":
        rules = policy.cluster_roles.get(binding.role_name)
        return rules if rules is not None else f'clusterrole.rbac.authorization.k8s.io "{binding.role_name}" not found'
    if binding.role_kind == "Role":
        rules = policy.roles.get((binding.namespace, binding.role_name))
        return rules if rules is not None else f'role.rbac.authorization.k8s.io "{binding.role_name}" not found'
    return f'unsupported role reference kind: "{binding.role_kind}"'


def _candidates(bindings: tuple[Binding, ...], index: Mapping[tuple[str, str], tuple[int, ...]],
                user: UserInfo) -> list[int]:
    found: set[int] = set(index.get(("User", user.name), ()))
    for group in user.groups:
        found.update(index.get(("Group", group), ()))
    return sorted(found)


Visit = tuple[Binding | None, Subject | None, tuple[Rule, ...], str]


def visit_rules(policy: Policy, user: UserInfo, namespace: str) -> Iterator[Visit]:
    """VisitRulesFor: (binding, the subject that applies, its role's rules, "") for each binding
    that applies to `user`, ClusterRoleBindings first then the namespace's RoleBindings; a role
    that cannot be resolved gives (binding, subject, (), error)."""
    scopes: list[tuple[tuple[Binding, ...], Mapping[tuple[str, str], tuple[int, ...]], str]] = [
        (policy.cluster_bindings, policy.cluster_index, "")]
    if namespace:
        scopes.append((policy.role_bindings.get(namespace, ()), policy.role_index.get(namespace, {}), namespace))
    for bindings, index, scope_ns in scopes:
        for i in _candidates(bindings, index, user):
            binding = bindings[i]
            subject = next((s for s in binding.subjects if applies_to_user(user, s, scope_ns)), None)
            if subject is None:
                continue
            rules = _role_rules(policy, binding)
            if isinstance(rules, str):
                yield binding, subject, (), rules
            else:
                yield binding, subject, rules, ""


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as it is, several deduplicated in brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    denied: bool = False  # RBAC never denies; it has no opinion when it does not allow


def authorize(policy: Policy, attrs: Attributes) -> Decision:
    """RBACAuthorizer.Authorize: allowed by the first rule that allows, else no opinion, the reason
    naming the roles that could not be resolved."""
    errors: list[str] = []
    for binding, subject, rules, error in visit_rules(policy, attrs.user, attrs.namespace):
        if error:
            errors.append(error)
            continue
        for rule in rules:
            if rule_allows(attrs, rule):
                assert binding is not None and subject is not None
                return Decision(True, f"RBAC: allowed by {describe(binding, subject)}")
    return Decision(False, f"RBAC: {aggregate(errors)}" if errors else "")


def rules_for(policy: Policy, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
    """RulesFor: every rule that applies to `user` in `namespace`, and the resolution errors."""
    rules: list[Rule] = []
    errors: list[str] = []
    for _binding, _subject, found, error in visit_rules(policy, user, namespace):
        if error:
            errors.append(error)
        rules.extend(found)
    return rules, errors
