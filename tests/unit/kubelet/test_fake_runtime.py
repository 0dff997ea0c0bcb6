"""The fake runtime's events: what the kubelet did not do itself is published, nothing else."""

from __future__ import annotations

import asyncio

from boxk8s.kubelet.runtime.base import ContainerConfig, SandboxConfig
from boxk8s.kubelet.runtime.fake import FakeRuntime


async def test_only_changes_the_kubelet_did_not_make_are_published() -> None:
    runtime = FakeRuntime()
    queue: asyncio.Queue[str] = asyncio.Queue()
    runtime._subscribers.append(queue)  # what watch_events() subscribes
    sandbox = await runtime.run_sandbox(SandboxConfig("default", "p", "uid-1", "p"))
    sleeper = await runtime.create_container(sandbox, ContainerConfig("a", "img", command=("sleep", "9")))
    quitter = await runtime.create_container(sandbox, ContainerConfig("b", "img", command=("sh", "-c", "exit 3")))
    assert (await runtime.start_container(sleeper.id)).status == "running"
    assert (await runtime.start_container(quitter.id)).status == "running"
    assert queue.empty()
    assert await queue.get() == "uid-1"  # the scripted exit, soon after its start
    state = await runtime.inspect_container(quitter.id)
    assert state is not None and state.status == "exited" and state.exit_code == 3
    runtime.exit_container(sleeper.id, 137, oom=True)  # from outside: published
    assert queue.get_nowait() == "uid-1"
    await runtime.remove_container(quitter.id)
    await runtime.remove_sandbox(sandbox.id)
    assert queue.empty()
