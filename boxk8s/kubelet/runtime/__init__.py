"""Container runtimes behind one protocol: Docker (real containers) and fake (simulated nodes)."""

from boxk8s.kubelet.runtime.base import (
    ContainerConfig,
    ContainerRuntime,
    ContainerState,
    ContainerStats,
    ExecSession,
    ImageError,
    Mount,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
    StartError,
)

__all__ = [
    "ContainerConfig",
    "ContainerRuntime",
    "ContainerState",
    "ContainerStats",
    "ExecSession",
    "ImageError",
    "Mount",
    "RuntimeSettings",
    "SandboxConfig",
    "SandboxState",
    "StartError",
]
