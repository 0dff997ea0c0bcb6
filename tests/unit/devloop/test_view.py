"""The status view: why a pod waits, and the plain (CI) lines when a workload's state changes."""

from __future__ import annotations

import io
from typing import Any

from boxk8s.client import Kind
from boxk8s.devloop.view import StatusView, pod_problem
from tests.unit.devloop.test_readiness import deployment, pod


class FakeInformer:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def list(self) -> list[dict[str, Any]]:
        return self.items

    def add_handler(self, _handler: Any) -> None:
        pass


class FakeFactory:
    def __init__(self, by_kind: dict[Any, list[dict[str, Any]]]) -> None:
        self.by_kind = by_kind

    def informer(self, rt: Any) -> FakeInformer:
        return FakeInformer(self.by_kind.setdefault(rt, []))


def test_pod_problem_in_kubectl_words() -> None:
    assert pod_problem(pod("a", waiting="CrashLoopBackOff")) == "CrashLoopBackOff"
    assert pod_problem(pod("a", unschedulable=True, waiting="")) == "Unschedulable"
    assert pod_problem(pod("a", ready=True)) == ""
    running_unready = pod("a")
    running_unready["status"]["containerStatuses"][0]["ready"] = False
    assert pod_problem(running_unready) == "Running, not ready (probe)"


def test_plain_lines_say_each_change_once() -> None:
    deployments = [deployment(ready=1, available=1)]
    factory = FakeFactory({Kind.DEPLOYMENT: deployments})
    out = io.StringIO()
    view = StatusView(factory, out, live=False)  # type: ignore[arg-type]
    view._plain()
    view._plain()  # nothing changed: nothing said
    deployments[0] = deployment()
    view._plain()
    view.reload("manifests/web.yaml: applied 1")
    factory.by_kind[Kind.INGRESS].append({"metadata": {"name": "app"}, "spec": {"rules": [
        {"host": "app.localhost", "http": {"paths": [{"path": "/shop"}]}}]}})
    view.ingress_port = 8081
    view._plain()
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == ["deployment/web -n ns: 1/2 ready", "deployment/web -n ns: 2/2 ready (ready)",
                     "manifests/web.yaml: applied 1", "open: http://app.localhost:8081/shop"]
