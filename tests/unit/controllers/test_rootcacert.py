"""The root CA publisher's decision (rootcacertpublisher/publisher.go syncNamespace)."""

from __future__ import annotations

from typing import Any

from boxk8s.controllers.rootcacert import CONFIGMAP, DESCRIPTION, DESCRIPTION_ANNOTATION, plan_root_ca

Obj = dict[str, Any]
CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
NS = {"metadata": {"name": "team"}, "status": {"phase": "Active"}}


def configmap(data: dict[str, str], annotations: dict[str, str] | None = None) -> Obj:
    md: Obj = {"name": CONFIGMAP, "namespace": "team", "resourceVersion": "7"}
    if annotations is not None:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data}


def test_created_in_a_namespace_without_it() -> None:
    assert plan_root_ca(NS, None, CA) == ("create", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "namespace": "team", "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
        "data": {"ca.crt": CA}})


def test_left_alone_when_current() -> None:
    assert plan_root_ca(NS, configmap({"ca.crt": CA}, {DESCRIPTION_ANNOTATION: DESCRIPTION}), CA) is None
    assert plan_root_ca(NS, configmap({"ca.crt": CA}, {DESCRIPTION_ANNOTATION: "someone's own words"}), CA) is None


def test_brought_back_when_changed() -> None:
    verb, updated = plan_root_ca(NS, configmap({"ca.crt": "old", "extra": "x"}, {"a": "b"}), CA) or ("", {})
    assert verb == "update"
    assert updated["data"] == {"ca.crt": CA}
    assert updated["metadata"]["annotations"] == {"a": "b", DESCRIPTION_ANNOTATION: DESCRIPTION}
    assert updated["metadata"]["resourceVersion"] == "7"  # an update of what was read
    verb, updated = plan_root_ca(NS, configmap({"ca.crt": CA}), CA) or ("", {})
    assert verb == "update" and updated["metadata"]["annotations"] == {DESCRIPTION_ANNOTATION: DESCRIPTION}


def test_nothing_in_a_namespace_gone_or_going() -> None:
    assert plan_root_ca(None, None, CA) is None
    going = {"metadata": {"name": "team", "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert plan_root_ca(going, None, CA) is None
