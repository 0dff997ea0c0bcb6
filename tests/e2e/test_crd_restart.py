"""`boxk8s up` stopped and started again serves its custom resources from its first answer: the
stored CRDs are served before the API listens, not when a controller gets to them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import start_boxk8s, stop_boxk8s
from tests.e2e.docker_cleanup import remove_cluster_objects
from tests.integration.crd_fixtures import widget, widget_crd


def test_custom_resources_survive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    state: Path = tmp_path_factory.mktemp("crd-restart") / "state"
    name = f"boxk8s-crd-{uuid.uuid4().hex[:8]}"
    options = dict(extra=["--nodes", "0", "--fake-nodes", "1"], cluster_name=name, pod_subnet="10.220.0.0/16")
    first = start_boxk8s(state, **options)  # type: ignore[arg-type]
    try:
        first.kubectl("apply", "-f", "-", input=yaml.safe_dump(widget_crd()))
        first.kubectl("wait", "--for", "condition=Established", "crd/widgets.example.com", "--timeout", "20s")
        first.kubectl("apply", "-f", "-", input=yaml.safe_dump(widget("web", replicas=3)))
    finally:
        assert stop_boxk8s(first) == 0, first.log_tail()
    second = start_boxk8s(state, port=first.port, **options)  # type: ignore[arg-type]
    try:
        got = json.loads(second.kubectl("get", "widget", "web", "-o", "json").stdout)  # the first request
        assert got["spec"]["replicas"] == 3
        table = second.kubectl("get", "widgets").stdout.splitlines()
        assert table[0].split()[:3] == ["NAME", "IMAGE", "REPLICAS"] and table[1].split()[:3] == ["web", "nginx", "3"]
    finally:
        code = stop_boxk8s(second)
        remove_cluster_objects(name)
    assert code == 0, second.log_tail()
