"""The state folder's small files: the record, the ready file, and whether its cluster runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxk8s import instance


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not boxk8s (it waits on its stdin; closing it ends the process)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    yield proc
    proc.kill()
    proc.wait()


def test_record_round_trip_and_urls(tmp_path: Path) -> None:
    assert instance.read_record(tmp_path) == instance.Record()
    record = instance.Record(cluster="shop-1a2b3c", pod_subnet="10.245.0.0/16", host="127.0.0.1", api_port=6444,
                             ingress_port=8081, ingress_tls_port=8444, context="boxk8s-shop-1a2b3c")
    instance.write_record(tmp_path, record)
    assert instance.read_record(tmp_path) == record
    assert record.api_url == "https://127.0.0.1:6444"
    assert record.ingress_urls == ["http://127.0.0.1:8081", "https://127.0.0.1:8444"]
    assert instance.Record(host="0.0.0.0", api_port=1, ingress_port=0, ingress_tls_port=8443).ingress_urls == []
    (tmp_path / instance.RECORD_FILE).write_text('{"api_port": "x", "cluster": 3, "unknown": 1}')
    assert instance.read_record(tmp_path) == instance.Record()  # wrong types are ignored, not trusted


def test_no_pid_file_or_a_garbled_one_is_not_running(tmp_path: Path) -> None:
    assert instance.running_pid(tmp_path) is None
    (tmp_path / instance.PID_FILE).write_text("not a pid\n")
    assert instance.running_pid(tmp_path) is None


def test_a_dead_pid_is_not_running(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (tmp_path / instance.PID_FILE).write_text(f"{proc.pid}\n")
    assert not instance.pid_alive(proc.pid)
    assert instance.running_pid(tmp_path) is None


def test_a_live_stranger_on_a_stale_pid_is_not_running(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    (tmp_path / instance.PID_FILE).write_text(f"{sleeper.pid}\n")
    assert instance.pid_alive(sleeper.pid)
    assert not instance.is_boxk8s(sleeper.pid)
    assert instance.running_pid(tmp_path) is None


def test_a_live_boxk8s_is_running(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()",
                             "boxk8s.cli", "up"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"  # exec'd: its own command line
        (tmp_path / instance.PID_FILE).write_text(f"{proc.pid}\n")
        assert instance.running_pid(tmp_path) == proc.pid
    finally:
        proc.kill()
        proc.wait()
    assert instance.running_pid(tmp_path) is None


def test_the_pid_lock_admits_one_cluster_per_folder(tmp_path: Path) -> None:
    lock = instance.PidLock.claim(tmp_path)
    assert instance.read_pid(tmp_path) == instance.os.getpid()
    with pytest.raises(instance.AlreadyRunning, match="already running"):
        instance.PidLock.claim(tmp_path)  # a second open file description: flock says no
    lock.release()
    assert not (tmp_path / instance.PID_FILE).exists()
    instance.PidLock.claim(tmp_path).release()  # free again


def test_ready_file(tmp_path: Path) -> None:
    assert instance.read_ready(tmp_path) is None
    instance.write_ready(tmp_path, False, "the API does not answer", api="https://127.0.0.1:6443")
    ready = instance.read_ready(tmp_path)
    assert ready == {"ok": False, "text": "the API does not answer", "pid": instance.os.getpid(),
                     "api": "https://127.0.0.1:6443"}
    instance.clear_ready(tmp_path)
    assert instance.read_ready(tmp_path) is None


def test_waiting_for_a_child_that_fails_says_its_error(tmp_path: Path) -> None:
    code = "import sys; print('starting'); print('Error: port 6443 is taken', file=sys.stderr); sys.exit(1)"
    proc = instance.start_background([sys.executable, "-c", code], tmp_path)
    with pytest.raises(instance.StartFailed, match="boxk8s stopped while starting: port 6443 is taken"):
        instance.wait_ready(tmp_path, proc, timeout=30)
    proc.wait()


def test_waiting_for_a_child_that_reports_ready(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from boxk8s import instance; "
            "instance.write_ready(Path(sys.argv[1]), True, 'the API answers'); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE,
                            env=instance.child_env())
    try:
        assert instance.wait_ready(tmp_path, proc, timeout=30)["text"] == "the API answers"  # type: ignore[arg-type]
    finally:
        assert instance.stop_process(proc.pid, timeout=10)
        proc.wait()
