"""What each runtime declares of itself: the kubelet reads these instead of asking which runtime it has."""

from __future__ import annotations

import pytest

from boxk8s.kubelet.runtime.base import ContainerRuntime, ContainerState, RuntimeSettings, StartError
from boxk8s.kubelet.runtime.docker import ContainerStartError, DockerError, DockerRuntime
from boxk8s.kubelet.runtime.fake import FakeRuntime


@pytest.mark.parametrize(("runtime", "name", "version", "simulated"), [
    (FakeRuntime(RuntimeSettings(cluster="c1")), "fake", "fake://", True),
    # Not started: the version is learned from the Docker Engine in start().
    (DockerRuntime(RuntimeSettings(cluster="c1")), "docker", "docker://unknown", False),
])
def test_a_runtime_declares_its_name_version_and_network(runtime: ContainerRuntime, name: str, version: str,
                                                          simulated: bool) -> None:
    assert (runtime.name, runtime.runtime_version, runtime.simulated_network) == (name, version, simulated)
    assert runtime.settings.cluster == "c1"


def test_the_docker_runtimes_start_failure_is_the_protocols_start_error() -> None:
    state = ContainerState("c1", "u-1", "default", "web", "app", 0, False, "created", error="no such file")
    err = ContainerStartError("cannot start container c1", 400, state)
    assert isinstance(err, StartError) and isinstance(err, DockerError)
    assert (err.state, err.status, str(err)) == (state, 400, "cannot start container c1")
