"""The kinds a cluster serves: built-ins plus kinds registered at runtime, with a generation."""

from __future__ import annotations

import dataclasses

from boxk8s.resources.kinds import Kinds, version_priority
from boxk8s.resources.registry import RESOURCES, ResourceType


def _rt(group: str, version: str, kind: str, plural: str) -> ResourceType:
    return ResourceType(group, version, kind, plural, kind.lower(), True, f"customresource:{plural}.{group}/{version}@u")


def test_registering_serves_and_unregistering_stops() -> None:
    kinds = Kinds()
    assert kinds.find("example.com", "v1", "widgets") is None
    before = kinds.generation
    widget = _rt("example.com", "v1", "Widget", "widgets")
    kinds.register("widgets.example.com", [widget])
    assert kinds.generation == before + 1
    assert kinds.find("example.com", "v1", "widgets") is widget
    assert kinds.by_kind("example.com/v1", "Widget") is widget
    assert kinds.all()[-1] is widget and kinds.all()[: len(RESOURCES)] == RESOURCES
    kinds.unregister("widgets.example.com")
    assert kinds.find("example.com", "v1", "widgets") is None
    assert kinds.generation == before + 2


def test_registering_the_same_again_changes_nothing() -> None:
    kinds = Kinds()
    widget = _rt("example.com", "v1", "Widget", "widgets")
    kinds.register("w", [widget])
    generation = kinds.generation
    kinds.register("w", [widget])
    assert kinds.generation == generation


def test_memo_lasts_one_generation() -> None:
    kinds = Kinds()
    calls: list[int] = []
    kinds.memo("k", lambda: calls.append(1) or len(calls))
    assert kinds.memo("k", lambda: 99) == 1
    kinds.register("w", [_rt("example.com", "v1", "Widget", "widgets")])
    assert kinds.memo("k", lambda: 99) == 99


def test_built_in_group_versions_are_never_taken_over() -> None:
    kinds = Kinds()
    deployments = next(rt for rt in RESOURCES if rt.plural == "deployments")
    fake = dataclasses.replace(deployments, kind="Other", definition="customresource:x")
    kinds.register("other", [fake, _rt("apps", "v1", "Widget", "widgets")])
    assert kinds.find("apps", "v1", "deployments") is deployments
    assert kinds.find("apps", "v1", "widgets") is None
    assert kinds.owners() == []


def test_added_groups_follow_the_built_ins_newest_version_first() -> None:
    kinds = Kinds()
    kinds.register("w", [_rt("example.com", v, "Widget", "widgets") for v in ("v1alpha1", "v1", "v2beta1", "v1beta2")])
    added = [gv for gv in kinds.group_versions() if gv[0] == "example.com"]
    assert added == [("example.com", "v1"), ("example.com", "v2beta1"), ("example.com", "v1beta2"),
                     ("example.com", "v1alpha1")]
    assert kinds.group_versions()[0] == ("", "v1")


def test_kube_aware_version_order() -> None:
    versions = ["foo1", "v1beta1", "v10", "v2", "v1alpha1", "v11alpha2", "v12beta3", "v1", "foo10", "v3beta1"]
    ordered = sorted(versions, key=version_priority)
    assert ordered == ["v10", "v2", "v1", "v12beta3", "v3beta1", "v1beta1", "v11alpha2", "v1alpha1", "foo1", "foo10"]
