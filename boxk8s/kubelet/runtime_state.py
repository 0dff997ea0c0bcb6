"""Whether the container runtime answers: kubelet's runtimeState (pkg/kubelet/runtime.go), pure.

The kubelet pings the runtime every `runtime_check_seconds` (upstream's `updateRuntimeUp`, every
5 s) and calls it down once no ping succeeded for `runtime_down_seconds` (upstream's
maxWaitForContainerRuntime, 30 s). While it is down the node is Ready=False with reason
KubeletNotReady and this message, and pod workers skip their syncs (upstream's syncLoop:
"Skipping pod synchronization"), so pods keep their last known status instead of flapping.
"""

from __future__ import annotations

RUNTIME_DOWN = "container runtime is down"


def runtime_errors(last_ok: float, now: float, threshold: float) -> str:
    """runtimeState.runtimeErrors: "" when the runtime answered within `threshold` seconds."""
    return RUNTIME_DOWN if now - last_ok >= threshold else ""
