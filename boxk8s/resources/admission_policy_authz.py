"""The `authorizer` variable of admission policies: the Kubernetes CEL authz library
(k8s.io/apiserver/pkg/cel/library/authz.go) as cel-python functions.

    authorizer.group('apps').resource('deployments').namespace('ns').name('web').check('delete').allowed()
    authorizer.path('/healthz').check('get').reason()
    authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('list').allowed()
    authorizer.requestResource.check('update').allowed()   # the resource of the request itself

Each `check` asks the API's authorizer (resources/requester.AUTHORIZER) for the request's user;
where there is none (in-process components, an API without RBAC) everything is allowed. cel-python
calls `x.f(a)` as the function `f(x, a)`: the functions below answer the receivers they know and a
CEL error otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boxk8s.resources.crd_cel import cel_library
from boxk8s.resources.requester import Check

Obj = dict[str, Any]


class Target:
    """An Authorizer (no group nor path yet), a PathCheck or a Group/ResourceCheck: who asks and
    the attributes so far."""

    def __init__(self, user: Mapping[str, Any], check: Check | None, spec: Mapping[str, str]) -> None:
        self.user = user
        self.check = check
        self.spec = dict(spec)

    def with_(self, **spec: str) -> Target:
        return Target(self.user, self.check, {**self.spec, **spec})


class Decision:
    def __init__(self, allowed: bool, reason: str) -> None:
        self.allowed = allowed
        self.reason = reason


def service_account_user(namespace: str, name: str) -> Obj:
    """serviceaccount.UserInfo(namespace, name, "")."""
    return {"username": f"system:serviceaccount:{namespace}:{name}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]}


def authorizer_value(user: Mapping[str, Any], check: Check | None, request_resource: Mapping[str, str]) -> Any:
    """The `authorizer` variable: a CEL map (so that `authorizer.requestResource` reads) that is
    also the receiver of group(), path() and serviceAccount()."""
    celtypes = cel_library().celtypes
    value = _authorizer_type()({celtypes.StringType("requestResource"): Target(user, check, request_resource)})
    value.target = Target(user, check, {})
    return value


_TYPE: type | None = None


def _authorizer_type() -> type:
    global _TYPE
    if _TYPE is None:
        _TYPE = type("AuthorizerValue", (cel_library().celtypes.MapType,), {"target": None})
    return _TYPE


def _target(receiver: Any, *, start: bool = False) -> Target:
    if start and _TYPE is not None and isinstance(receiver, _TYPE):
        return receiver.target  # type: ignore[no-any-return]
    if isinstance(receiver, Target) and (not start or not receiver.spec):
        return receiver
    raise TypeError("no such overload")


def _error(e: Exception) -> Any:
    return cel_library().CELEvalError(f"no such overload: {e}")


def _setter(field: str, *, start: bool = False) -> Any:
    def set_field(receiver: Any, value: Any) -> Any:
        try:
            return _target(receiver, start=start).with_(**{field: str(value)})
        except TypeError as e:
            return _error(e)
    return set_field


def _service_account(receiver: Any, namespace: Any, name: Any) -> Any:
    try:
        target = _target(receiver, start=True)
    except TypeError as e:
        return _error(e)
    return Target(service_account_user(str(namespace), str(name)), target.check, {})


def _check(receiver: Any, verb: Any) -> Any:
    if not isinstance(receiver, Target) or not (receiver.spec.get("path") or "resource" in receiver.spec):
        return _error(TypeError("check() needs a path or a resource"))
    if receiver.check is None:
        return Decision(True, "")
    allowed, reason = receiver.check(receiver.user, {**receiver.spec, "verb": str(verb)})
    return Decision(allowed, reason)


def _decision(read: Any) -> Any:
    def get(receiver: Any) -> Any:
        if not isinstance(receiver, Decision):
            return _error(TypeError("not a Decision"))
        return read(receiver)
    return get


def functions() -> dict[str, Any]:
    celtypes = cel_library().celtypes
    return {
        "group": _setter("apiGroup", start=True),
        "path": _setter("path", start=True),
        "serviceAccount": _service_account,
        "resource": _setter("resource"),
        "subresource": _setter("subresource"),
        "namespace": _setter("namespace"),
        "name": _setter("name"),
        "check": _check,
        "allowed": _decision(lambda d: celtypes.BoolType(d.allowed)),
        "reason": _decision(lambda d: celtypes.StringType(d.reason)),
        "errored": _decision(lambda d: celtypes.BoolType(False)),
        "error": _decision(lambda d: celtypes.StringType("")),
    }
