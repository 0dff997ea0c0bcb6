"""Image rebuild → rollout as tables: which workloads run a rebuilt tag, and the patch that rolls them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from boxk8s.devloop.images_plan import CHANGE_CAUSE, IMAGES_ANNOTATION, normalize_image, plan_image_rollouts


@pytest.mark.parametrize(("ref", "full"), [
    ("myapp", "docker.io/library/myapp:latest"),
    ("myapp:dev", "docker.io/library/myapp:dev"),
    ("docker.io/library/myapp:dev", "docker.io/library/myapp:dev"),
    ("team/myapp:dev", "docker.io/team/myapp:dev"),
    ("localhost:5000/myapp", "localhost:5000/myapp:latest"),
    ("registry.example.com/a/b:1", "registry.example.com/a/b:1"),
    ("myapp@sha256:abc", "docker.io/library/myapp@sha256:abc"),
])
def test_normalize_image(ref: str, full: str) -> None:
    assert normalize_image(ref) == full


def workload(kind: str, name: str, *images: str, init: str = "", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": "init", "image": init}]
    return {"kind": kind, "metadata": {"name": name, "namespace": "ns"},
            "spec": {"template": {"metadata": {"annotations": annotations or {}}, "spec": spec}}}


def test_every_workload_kind_running_the_tag_rolls_and_says_why() -> None:
    workloads = [workload("Deployment", "web", "myapp:dev"), workload("StatefulSet", "db", "docker.io/library/myapp:dev"),
                 workload("DaemonSet", "agent", "other:dev", init="myapp:dev"), workload("Deployment", "x", "myapp:prod"),
                 {"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"image": "myapp:dev"}]}}}}]
    rollouts = plan_image_rollouts(workloads, "myapp:dev", "sha256:" + "ab" * 32)
    assert [(r.kind, r.name, r.containers) for r in rollouts] == [
        ("Deployment", "web", ("c0",)), ("StatefulSet", "db", ("c0",)), ("DaemonSet", "agent", ("init",))]
    patch = rollouts[0].patch
    assert json.loads(patch["spec"]["template"]["metadata"]["annotations"][IMAGES_ANNOTATION]) == \
        {"myapp:dev": "sha256:" + "ab" * 32}
    assert patch["metadata"]["annotations"][CHANGE_CAUSE] == "image myapp:dev rebuilt: " + "ab" * 6


def test_a_workload_already_on_that_image_id_is_left_alone() -> None:
    done = workload("Deployment", "web", "myapp:dev", annotations={IMAGES_ANNOTATION: json.dumps({"myapp:dev": "sha256:1"})})
    assert plan_image_rollouts([done], "myapp:dev", "sha256:1") == []
    [again] = plan_image_rollouts([done], "myapp:dev", "sha256:2")
    assert json.loads(again.patch["spec"]["template"]["metadata"]["annotations"][IMAGES_ANNOTATION]) == {"myapp:dev": "sha256:2"}


def test_other_recorded_images_are_kept_and_deleted_workloads_skipped() -> None:
    two = workload("Deployment", "web", "a:dev", "b:dev", annotations={IMAGES_ANNOTATION: json.dumps({"a:dev": "sha256:1"})})
    [r] = plan_image_rollouts([two], "b:dev", "sha256:9")
    assert json.loads(r.patch["spec"]["template"]["metadata"]["annotations"][IMAGES_ANNOTATION]) == \
        {"a:dev": "sha256:1", "b:dev": "sha256:9"}
    gone = workload("Deployment", "old", "b:dev")
    gone["metadata"]["deletionTimestamp"] = "2026-12-03T00:00:00Z"
    assert plan_image_rollouts([gone], "b:dev", "sha256:9") == []
