"""runtime_state.runtime_errors: when the kubelet calls its runtime down (pkg/kubelet/runtime.go)."""

from __future__ import annotations

from boxk8s.kubelet.runtime_state import RUNTIME_DOWN, runtime_errors


def test_the_runtime_is_down_once_no_check_succeeded_for_the_threshold() -> None:
    assert runtime_errors(100.0, 100.0, 30.0) == ""
    assert runtime_errors(100.0, 129.9, 30.0) == ""
    assert runtime_errors(100.0, 130.0, 30.0) == RUNTIME_DOWN == "container runtime is down"
