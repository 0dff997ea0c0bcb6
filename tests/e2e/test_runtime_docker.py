"""The Docker runtime against the real Docker Engine, with the offline busybox image."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from boxk8s.kubelet.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_INIT,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerState,
    ImageError,
    Mount,
    RuntimeSettings,
    SandboxConfig,
    SandboxState,
)
from boxk8s.kubelet.runtime.docker import ContainerStartError, DockerError, DockerRuntime
from boxk8s.kubelet.runtime.docker_specs import pull_reference, rfc3339_seconds, sanitize_name
from tests.e2e.docker_cleanup import cluster_objects, docker_cluster, free_subnet, remove_cluster_objects

__all__ = ["docker_cluster"]  # the fixture, imported for pytest

BUSYBOX = "boxk8s-busybox:latest"
ROOT = Path(__file__).resolve().parents[2]
RFC3339NANO = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session", autouse=True)
def busybox_image() -> str:
    if _docker("image", "inspect", BUSYBOX).returncode != 0:
        subprocess.run(["bash", str(ROOT / "scripts" / "build_images.sh")], check=True, timeout=300)
    return BUSYBOX


@pytest.fixture
def settings(docker_cluster: str, tmp_path: Path) -> RuntimeSettings:
    return RuntimeSettings(cluster=docker_cluster, node="node-a", pod_subnet=free_subnet(),
                           state_dir=tmp_path / "state")


@pytest.fixture
async def runtime(settings: RuntimeSettings) -> AsyncIterator[DockerRuntime]:
    rt = DockerRuntime(settings, pull_timeout=30)
    await rt.start()
    yield rt
    await rt.close()


def sandbox_config(name: str = "web") -> SandboxConfig:
    uid = str(uuid.uuid4())
    return SandboxConfig(namespace="default", pod_name=name, pod_uid=uid, hostname=name,
                         aliases=(f"{name}-alias",), dns_search=("default.svc.cluster.local",))


async def wait_exited(rt: DockerRuntime, container_id: str, timeout: float = 20) -> ContainerState:
    deadline = time.monotonic() + timeout
    while True:
        state = await rt.inspect_container(container_id)
        assert state is not None
        if state.status == "exited":
            return state
        assert time.monotonic() < deadline, f"container still {state.status}"
        await asyncio.sleep(0.05)


async def run(rt: DockerRuntime, sandbox: SandboxState, name: str, **kw: object) -> ContainerState:
    created = await rt.create_container(sandbox, ContainerConfig(name=name, image=BUSYBOX, **kw))  # type: ignore[arg-type]
    return await rt.start_container(created.id)


async def all_logs(rt: DockerRuntime, container_id: str, **kw: object) -> bytes:
    opts: dict[str, object] = {"follow": False, "tail": None, "since": None, "timestamps": False, **kw}
    return b"".join([line async for line in rt.logs(container_id, **opts)])  # type: ignore[arg-type]


# --- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "expected"), [
    ("busybox", "busybox:latest"),
    ("boxk8s-busybox:latest", "boxk8s-busybox:latest"),
    ("localhost:5000/team/app", "localhost:5000/team/app:latest"),
    ("registry.example.com/a/b:1.2-x", "registry.example.com/a/b:1.2-x"),
    ("busybox@sha256:" + "a" * 64, "busybox@sha256:" + "a" * 64),
])
def test_pull_reference(image: str, expected: str) -> None:
    assert pull_reference(image) == expected


@pytest.mark.parametrize("image", ["", "Busybox", "bad image", "a:b:c", "x:" + "t" * 200, "-x"])
def test_invalid_image_names(image: str) -> None:
    with pytest.raises(ImageError) as err:
        pull_reference(image)
    assert err.value.reason == "InvalidImageName"


def test_times_and_names() -> None:
    assert rfc3339_seconds("2024-05-01T10:11:12.123456789Z") == "2024-05-01T10:11:12Z"
    assert rfc3339_seconds("0001-01-01T00:00:00Z") == ""
    assert sanitize_name("boxk8s-c-ns-pod/x:y-0") == "boxk8s-c-ns-pod-x-y-0"
    assert len(sanitize_name("a" * 500)) <= 200


# --- sandboxes -----------------------------------------------------------------------------------


async def test_pause_image_builds_once_and_sandbox_gets_ip(settings: RuntimeSettings) -> None:
    image = f"boxk8s-pause-{settings.cluster}:latest"
    own = RuntimeSettings(cluster=settings.cluster, node=settings.node, pod_subnet=settings.pod_subnet,
                          sandbox_image=image)
    first, second = DockerRuntime(own), DockerRuntime(own)
    try:
        await first.start()
        await second.start()
        assert first.sandbox_image_built and not second.sandbox_image_built
        assert first.runtime_version.startswith("docker://2")
        inspected = json.loads(_docker("image", "inspect", image).stdout)[0]
        assert inspected["Config"]["Entrypoint"] == ["/pause"]
        assert inspected["Config"]["Labels"][LABEL_MANAGED] == "true"
        assert inspected["Size"] < 4096

        config = sandbox_config()
        sandbox = await second.run_sandbox(config)
        assert sandbox.running and sandbox.pod_uid == config.pod_uid
        assert ipaddress.ip_address(sandbox.ip) in ipaddress.ip_network(settings.pod_subnet)
        assert (await second.run_sandbox(config)).id == sandbox.id  # idempotent
        info = json.loads(_docker("inspect", sandbox.id).stdout)[0]
        assert info["Config"]["Hostname"] == "web"
        assert info["HostConfig"]["DnsSearch"] == ["default.svc.cluster.local"]
        assert "web-alias" in info["NetworkSettings"]["Networks"][first.network]["Aliases"]

        await asyncio.sleep(0.5)
        state = await second.inspect_container(sandbox.id)
        assert state is not None and state.status == "running" and state.name == "POD"
        # pause exits 0 on SIGTERM: `docker stop` does not wait for the grace period.
        started = time.monotonic()
        await second.stop_container(sandbox.id, 30)
        assert time.monotonic() - started < 10
        stopped = await second.inspect_container(sandbox.id)
        assert stopped is not None and stopped.status == "exited" and stopped.exit_code == 0
        assert stopped.finished_at.endswith("Z") and len(stopped.finished_at) == 20

        # A dead sandbox is replaced by run_sandbox.
        again = await second.run_sandbox(config)
        assert again.id != sandbox.id and again.running
        await second.remove_sandbox(again.id)
        assert await second.inspect_container(again.id) is None
        assert await second.inspect_container(sandbox.id) is None
    finally:
        await first.close()
        await second.close()
        remove_cluster_objects(settings.cluster)
        _docker("rmi", image)


async def test_containers_share_localhost(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    server = await run(runtime, sandbox, "server", command=(
        "sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"))
    client = await run(runtime, sandbox, "client", command=("sleep", "1000"))
    assert server.status == client.status == "running"
    deadline = time.monotonic() + 10
    while True:
        code, out = await runtime.exec_probe(client.id, ["wget", "-qO-", "http://127.0.0.1:8080/"], 5)
        if code == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert (code, out) == (0, b"hello\n")
    # Non-zero exit codes and stderr come back too.
    assert await runtime.exec_probe(client.id, ["sh", "-c", "echo oops >&2; exit 3"], 5) == (3, b"oops\n")
    with pytest.raises(TimeoutError):
        await runtime.exec_probe(client.id, ["sleep", "5"], 0.3)


async def test_command_and_args(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    cases = {
        "command-only": ({"command": ("echo", "cmd-only")}, b"cmd-only\n"),  # the image's CMD ["sh"] is dropped
        "args-only": ({"args": ("echo", "args-only")}, b"args-only\n"),
        "both": ({"command": ("echo",), "args": ("a", "b")}, b"a b\n"),
        "shell": ({"command": ("sh", "-c"), "args": ("echo $0-$1", "x", "y")}, b"x-y\n"),
    }
    started = {name: await run(runtime, sandbox, name, **kw) for name, (kw, _) in cases.items()}
    for name, (_, expected) in cases.items():
        state = await wait_exited(runtime, started[name].id)
        assert state.exit_code == 0, name
        assert await all_logs(runtime, state.id) == expected, name


async def test_env_working_dir_and_start_error(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    state = await run(runtime, sandbox, "env", command=("sh", "-c", 'echo "$FOO|$BAR"; pwd'),
                      env=(("FOO", "foo"), ("BAR", "b a=r")), working_dir="/tmp/work")
    await wait_exited(runtime, state.id)
    assert await all_logs(runtime, state.id) == b"foo|b a=r\n/tmp/work\n"

    created = await runtime.create_container(sandbox, ContainerConfig("bad", BUSYBOX, command=("/nope",)))
    with pytest.raises(ContainerStartError) as err:
        await runtime.start_container(created.id)
    assert err.value.state is not None and "/nope" in err.value.state.error
    assert err.value.state.exit_code not in (None, 0)


async def test_bind_mount_read_only_and_sub_path(runtime: DockerRuntime, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("from the host\n")
    sandbox = await runtime.run_sandbox(sandbox_config())
    state = await run(runtime, sandbox, "reader", mounts=(
        Mount(target="/data", source=str(data), read_only=True),
        Mount(target="/sub", source=str(tmp_path / "shared"), sub_path="a/b"),
        Mount(target="/scratch", source="", kind="tmpfs"),
    ), command=("sh", "-c", "cat /data/hello.txt; (touch /data/x 2>/dev/null && echo rw) || echo ro; "
                            "echo sub > /sub/f; grep -q ' /scratch tmpfs' /proc/mounts && echo tmpfs"))
    await wait_exited(runtime, state.id)
    assert await all_logs(runtime, state.id) == b"from the host\nro\ntmpfs\n"
    assert (tmp_path / "shared" / "a" / "b" / "f").read_text() == "sub\n"
    assert not (data / "x").exists()


async def test_named_volume_shared(runtime: DockerRuntime, settings: RuntimeSettings) -> None:
    volume = await runtime.ensure_volume(f"{settings.cluster}-cache")
    assert await runtime.ensure_volume(volume) == volume  # idempotent
    implicit = f"{settings.cluster}-implicit"  # created by Docker on first mount, still labelled
    sandbox = await runtime.run_sandbox(sandbox_config())
    mounts = (Mount(target="/cache", source=volume, kind="volume"),
              Mount(target="/implicit", source=implicit, kind="volume"))
    writer = await run(runtime, sandbox, "writer", mounts=mounts,
                       command=("sh", "-c", "echo shared > /cache/f; echo too > /implicit/g; sleep 1000"))
    reader = await run(runtime, sandbox, "reader", mounts=mounts, command=("sleep", "1000"))
    deadline = time.monotonic() + 10
    while (result := await runtime.exec_probe(reader.id, ["cat", "/cache/f", "/implicit/g"], 5))[0] != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert result == (0, b"shared\ntoo\n")
    assert implicit in cluster_objects(settings.cluster)["volumes"]
    with pytest.raises(DockerError):
        await runtime.remove_volume(volume)  # in use
    await runtime.remove_container(writer.id)
    await runtime.remove_container(reader.id)
    await runtime.remove_volume(volume)
    await runtime.remove_volume(volume)  # gone already: fine
    assert volume not in cluster_objects(settings.cluster)["volumes"]


async def test_memory_limit_and_oom(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    limit = 8 * 1024 * 1024
    state = await run(runtime, sandbox, "hog", memory_limit=limit, cpu_limit_nano=500_000_000, cpu_shares=256,
                      command=("sh", "-c", "x=a; while true; do x=$x$x; done"))
    host_config = json.loads(_docker("inspect", state.id).stdout)[0]["HostConfig"]
    assert host_config["Memory"] == limit and host_config["NanoCpus"] == 500_000_000
    assert host_config["CpuShares"] == 256
    done = await wait_exited(runtime, state.id, timeout=60)
    assert done.oom_killed and done.exit_code == 137


async def test_stop_with_grace(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    stubborn = await run(runtime, sandbox, "stubborn", command=("sleep", "1000"))  # PID 1 ignores SIGTERM
    polite = await run(runtime, sandbox, "polite",
                       command=("sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.1; done'))
    await asyncio.sleep(0.3)  # let the shell install its trap
    await asyncio.gather(runtime.stop_container(stubborn.id, 1), runtime.stop_container(polite.id, 30))
    assert (await wait_exited(runtime, stubborn.id)).exit_code == 137
    assert (await wait_exited(runtime, polite.id)).exit_code == 0
    await runtime.stop_container(polite.id, 1)  # already stopped: fine


async def test_ensure_image_policies(runtime: DockerRuntime, settings: RuntimeSettings) -> None:
    missing = f"boxk8s-missing-{settings.cluster}:v1"
    with pytest.raises(ImageError) as err:
        await runtime.ensure_image(missing, "Never")
    assert err.value.reason == "ErrImageNeverPull"
    assert str(err.value) == f'Container image "{missing}" is not present with pull policy of Never'

    started = time.monotonic()
    with pytest.raises(ImageError) as err:
        await runtime.ensure_image(missing, "IfNotPresent")
    assert err.value.reason == "ErrImagePull"
    assert err.value.message.startswith(f'failed to pull and unpack image "{missing}": ')
    assert time.monotonic() - started < 35

    with pytest.raises(ImageError) as err:
        await runtime.ensure_image("Not A/Valid:image!", "IfNotPresent")
    assert err.value.reason == "InvalidImageName"

    image_id = await runtime.ensure_image(BUSYBOX, "Always")  # the pull fails; the local image wins
    assert image_id.startswith("sha256:")
    assert await runtime.ensure_image(BUSYBOX, "IfNotPresent") == image_id
    assert await runtime.ensure_image(BUSYBOX, "Never") == image_id


async def test_watch_events(runtime: DockerRuntime) -> None:
    events = runtime.watch_events()
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def pump() -> None:
        async for uid in events:
            await seen.put(uid)

    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(pump())
        config = sandbox_config()
        sandbox = await runtime.run_sandbox(config)
        state = await run(runtime, sandbox, "short", command=("sh", "-c", "sleep 1; exit 2"))
        assert await asyncio.wait_for(seen.get(), 10) == config.pod_uid  # sandbox/container start
        while (await runtime.inspect_container(state.id)).status == "running":  # type: ignore[union-attr]
            while not seen.empty():
                seen.get_nowait()
            try:
                uid = await asyncio.wait_for(seen.get(), 3)  # the die
            except TimeoutError:
                continue
            assert uid == config.pod_uid
            break
        assert (await wait_exited(runtime, state.id)).exit_code == 2
        task.cancel()
    await events.aclose()  # type: ignore[attr-defined]


async def test_logs(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    state = await run(runtime, sandbox, "logger", command=(
        "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 0.2; echo err >&2; sleep 2; echo late; echo -n partial"))
    follow = asyncio.ensure_future(all_logs(runtime, state.id, follow=True))
    await asyncio.sleep(0.8)
    assert await all_logs(runtime, state.id, tail=2) == b"line5\nerr\n"
    stamped = [line async for line in runtime.logs(state.id, follow=False, tail=None, since=None, timestamps=True)]
    assert len(stamped) == 6 and all(RFC3339NANO.match(line) for line in stamped)
    assert stamped[0].endswith(b" line1\n")
    all_output = await asyncio.wait_for(follow, 15)  # ends when the container stops
    assert all_output == b"line1\nline2\nline3\nline4\nline5\nerr\nlate\npartial\n"
    # Docker's own clock: one second after the last early line (microseconds are enough here).
    since = datetime.fromisoformat(stamped[-1].split(b" ")[0][:26].decode() + "+00:00").timestamp() + 1
    assert await all_logs(runtime, state.id, since=since) == b"late\npartial\n"


async def test_exec_stdin_and_tty(runtime: DockerRuntime) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    target = await run(runtime, sandbox, "target", command=("sleep", "1000"))

    session = await runtime.exec(target.id, ["cat"], stdin=True, tty=False)
    await session.write_stdin(b"hello\nworld\n")
    await session.close_stdin()
    chunks = [chunk async for chunk in session.output()]
    assert b"".join(data for _, data in chunks) == b"hello\nworld\n"
    assert {stream for stream, _ in chunks} == {1}
    assert await session.wait() == 0
    await session.close()

    session = await runtime.exec(target.id, ["sh", "-c", "echo out; echo err >&2; exit 4"], stdin=False, tty=False)
    chunks = [chunk async for chunk in session.output()]
    assert sorted(chunks) == [(1, b"out\n"), (2, b"err\n")]
    assert await session.wait() == 4
    await session.close()

    session = await runtime.exec(target.id, ["sh", "-c", "sleep 0.5; stty size; tty"], stdin=True, tty=True)
    await session.resize(100, 30)
    output = b"".join([data async for _, data in session.output()])
    assert b"30 100\r\n" in output and b"/dev/pts/" in output
    assert await session.wait() == 0
    await session.close()

    with pytest.raises(DockerError):
        await runtime.exec("no-such-container", ["true"], stdin=False, tty=False)


async def test_list_finds_exactly_ours(runtime: DockerRuntime, settings: RuntimeSettings) -> None:
    other_node = DockerRuntime(RuntimeSettings(cluster=settings.cluster, node="node-b", pod_subnet=settings.pod_subnet))
    await other_node.start()
    try:
        elsewhere = await other_node.run_sandbox(sandbox_config("elsewhere"))
        await run(other_node, elsewhere, "app", command=("sleep", "1000"))

        a_config, b_config = sandbox_config("a"), sandbox_config("b")
        a = await runtime.run_sandbox(a_config)
        b = await runtime.run_sandbox(b_config)
        init = await run(runtime, a, "init", command=("true",), init=True)
        await wait_exited(runtime, init.id)
        app = await run(runtime, a, "app", command=("sleep", "1000"), attempt=2, labels=(("team", "x"),))
        waiting = await runtime.create_container(b, ContainerConfig("app", BUSYBOX, command=("sleep", "1")))
        assert (await runtime.create_container(b, ContainerConfig("app", BUSYBOX, command=("sleep", "1")))).id \
            == waiting.id  # a retried create adopts the container made before

        sandboxes = {s.pod_uid: s for s in await runtime.list_sandboxes()}
        assert set(sandboxes) == {a_config.pod_uid, b_config.pod_uid}
        assert sandboxes[a_config.pod_uid].ip == a.ip and sandboxes[a_config.pod_uid].running

        found = {(c.pod_uid, c.name): c for c in await runtime.list_containers()}
        assert set(found) == {(a_config.pod_uid, "init"), (a_config.pod_uid, "app"), (b_config.pod_uid, "app")}
        assert found[(a_config.pod_uid, "init")].status == "exited"
        assert found[(a_config.pod_uid, "init")].init and found[(a_config.pod_uid, "init")].exit_code == 0
        got = found[(a_config.pod_uid, "app")]
        assert (got.id, got.status, got.attempt, got.namespace, got.pod_name) == (app.id, "running", 2, "default", "a")
        assert got.image == BUSYBOX and got.image_id.startswith("sha256:") and got.started_at.endswith("Z")
        assert got.labels["team"] == "x" and got.labels[LABEL_NODE] == "node-a"
        assert got.labels[LABEL_CLUSTER] == settings.cluster and got.labels[LABEL_ATTEMPT] == "2"
        assert got.labels[LABEL_INIT] == "false" and got.labels[LABEL_CONTAINER_NAME] == "app"
        assert got.labels[LABEL_POD_UID] == a_config.pod_uid
        assert found[(b_config.pod_uid, "app")].status == "created"
        assert found[(b_config.pod_uid, "app")].started_at == ""
    finally:
        await other_node.close()


async def test_cleanup_and_foreign_objects(runtime: DockerRuntime, settings: RuntimeSettings) -> None:
    sandbox = await runtime.run_sandbox(sandbox_config())
    await run(runtime, sandbox, "app", command=("sleep", "1000"))
    await runtime.ensure_volume(f"{settings.cluster}-data")
    foreign = _docker("create", "--name", f"foreign-{settings.cluster}", BUSYBOX, "sleep", "1").stdout.strip()
    try:
        with pytest.raises(DockerError, match="refusing"):
            await runtime.remove_container(foreign)
        assert _docker("inspect", foreign).returncode == 0
    finally:
        _docker("rm", "-f", foreign)
    objects = cluster_objects(settings.cluster)
    assert len(objects["containers"]) == 2 and len(objects["networks"]) == 1 and len(objects["volumes"]) == 1
    remove_cluster_objects(settings.cluster)
    assert cluster_objects(settings.cluster) == {"containers": [], "networks": [], "volumes": []}


# --- solo pods (no sandbox container) ------------------------------------------------------------


async def test_solo_pod_keeps_its_ip_and_hostname_across_attempts(settings: RuntimeSettings) -> None:
    first = DockerRuntime(settings)
    await first.start()
    config = replace(sandbox_config("solo"), solo=True)
    try:
        sandbox = await first.run_sandbox(config)
        assert sandbox.id == f"solo-{config.pod_uid}" and sandbox.running
        assert ipaddress.ip_address(sandbox.ip) in ipaddress.ip_network(settings.pod_subnet)
        assert await first.list_sandboxes() == []  # no container yet: nothing to find
        c0 = await run(first, sandbox, "main", command=("sh", "-c", "hostname; exit 3"), attempt=0)
        assert (await wait_exited(first, c0.id)).exit_code == 3
        assert await all_logs(first, c0.id) == b"solo\n"
        info = json.loads(_docker("inspect", c0.id).stdout)[0]
        assert info["HostConfig"]["NetworkMode"] == first.network
        assert "solo-alias" in info["NetworkSettings"]["Networks"][first.network]["Aliases"]

        # Docker gives a freed address to the next container it starts: another pod starting
        # meanwhile must not take this pod's.
        other = await first.run_sandbox(sandbox_config("other"))
        taker = await run(first, other, "app", command=("sleep", "1000"))
        assert taker.status == "running" and other.ip != sandbox.ip

        # A new runtime (boxk8s restarted) finds the sandbox from the container's labels and
        # keeps the address reserved.
        second = DockerRuntime(settings)
        await second.start()
        try:
            found = [s for s in await second.list_sandboxes() if s.pod_uid == config.pod_uid]
            assert found == [sandbox] and found[0].config == config
            newcomer = await second.run_sandbox(replace(sandbox_config("new"), solo=True))
            assert newcomer.ip not in (sandbox.ip, other.ip)
            c1 = await run(second, found[0], "main", command=("sleep", "1000"), attempt=1)
            assert c1.status == "running"
            info = json.loads(_docker("inspect", c1.id).stdout)[0]
            assert info["NetworkSettings"]["Networks"][second.network]["IPAddress"] == sandbox.ip
            assert info["Config"]["Hostname"] == "solo"
            code, out = await second.exec_probe(c1.id, ["hostname"], 5)
            assert (code, out) == (0, b"solo\n")
            await second.remove_sandbox(found[0].id)  # releases the address; there is no container to remove
            assert sandbox.ip not in second.addresses
        finally:
            await second.close()
    finally:
        await first.close()
        remove_cluster_objects(settings.cluster)
