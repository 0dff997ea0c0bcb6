"""The small files a cluster keeps about itself in its state folder, and the process that runs it.

    .boxk8s/cluster-name   the cluster's name (nodes.py), which names and labels its Docker objects
    .boxk8s/cluster.json   what it took of the machine (pod subnet, ports, kubeconfig context),
                           preferred at the next start and read by `boxk8s status`
    .boxk8s/boxk8s.pid     the pid of the running `boxk8s up`, locked (flock) while it runs
    .boxk8s/boxk8s.log     what a background cluster (`boxk8s up -d`) prints
    .boxk8s/ready.json     how start-up ended, {"ok": …, "text": …}: what `up -d` waits for

Nothing here imports the cluster: `status`, `down` and `up -d` itself read these files quickly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

PID_FILE = "boxk8s.pid"
LOG_FILE = "boxk8s.log"
READY_FILE = "ready.json"
RECORD_FILE = "cluster.json"
NAME_FILE = "cluster-name"
POLL_SECONDS = 0.02  # how often `up -d` looks at its child; start-up takes tenths of a second


def url_host(host: str) -> str:
    """The host part of a URL for a listen address (all addresses: reach it on loopback)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Record:
    """What the cluster took of the machine at its last start."""

    cluster: str = ""
    pod_subnet: str = ""
    host: str = "127.0.0.1"
    api_port: int = 0
    ingress_port: int = 0  # 0: no Ingress proxy
    ingress_tls_port: int = 0
    context: str = ""  # its kubeconfig context, cluster and user entries
    user_kubeconfig: str = ""  # where that context was merged ("" : nowhere)

    @property
    def api_url(self) -> str:
        return f"https://{url_host(self.host)}:{self.api_port}" if self.api_port else ""

    @property
    def ingress_urls(self) -> list[str]:
        urls = [f"http://{url_host(self.host)}:{self.ingress_port}"] if self.ingress_port else []
        if self.ingress_port and self.ingress_tls_port:
            urls.append(f"https://{url_host(self.host)}:{self.ingress_tls_port}")
        return urls


def _write_json(path: Path, value: Any) -> None:
    """Whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_record(state_dir: Path) -> Record:
    data = _read_json(state_dir / RECORD_FILE) or {}
    known = {f.name: f.type for f in fields(Record)}
    values = {k: v for k, v in data.items() if k in known and isinstance(v, int if known[k] == "int" else str)}
    return Record(**values)


def write_record(state_dir: Path, record: Record) -> None:
    _write_json(state_dir / RECORD_FILE, asdict(record))


def cluster_name(state_dir: Path) -> str:
    """The recorded cluster name ("" before the first start)."""
    try:
        return (state_dir / NAME_FILE).read_text().strip()
    except OSError:
        return ""


# --- the ready file ---------------------------------------------------------------------------------

def write_ready(state_dir: Path, ok: bool, text: str, **details: Any) -> None:
    _write_json(state_dir / READY_FILE, {"ok": ok, "text": text, "pid": os.getpid(), **details})


def read_ready(state_dir: Path) -> dict[str, Any] | None:
    return _read_json(state_dir / READY_FILE)


def clear_ready(state_dir: Path) -> None:
    (state_dir / READY_FILE).unlink(missing_ok=True)


# --- the pid file -----------------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _command_line(pid: int) -> str | None:
    """The process's command line, or None when this system cannot say."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return ""  # Linux, and the process is gone
    except OSError:
        return None
    try:  # macOS and the BSDs
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def is_boxk8s(pid: int) -> bool:
    """Whether `pid` is alive and runs boxk8s (not a stranger that inherited a stale pid)."""
    if not pid_alive(pid):
        return False
    command = _command_line(pid)
    return command is None or "boxk8s" in command


def read_pid(state_dir: Path) -> int:
    try:
        return int((state_dir / PID_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def running_pid(state_dir: Path) -> int | None:
    """The pid of the boxk8s running the cluster in `state_dir`, or None."""
    pid = read_pid(state_dir)
    return pid if pid and is_boxk8s(pid) else None


class AlreadyRunning(Exception):
    def __init__(self, state_dir: Path, pid: int) -> None:
        super().__init__(f"the cluster in {state_dir} is already running (pid {pid}): "
                         "`boxk8s status` shows it, `boxk8s down` stops it")
        self.pid = pid


class PidLock:
    """The running cluster's claim on its state folder: the pid file, flock-ed while the process
    lives. The kernel drops the lock when the process dies, even by kill -9, so two `up`s started
    at once cannot both run a cluster on one folder."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / PID_FILE
        self._file: IO[str] | None = None

    @classmethod
    def claim(cls, state_dir: Path) -> PidLock:
        lock = cls(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        f = open(lock.path, "a+")  # noqa: SIM115 (held for the process's life)
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:
            pass  # no flock (Windows): the pid check alone
        except OSError:
            f.close()
            raise AlreadyRunning(state_dir, read_pid(state_dir)) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        lock._file = f
        return lock

    def release(self) -> None:
        if self._file is not None:
            if read_pid(self.path.parent) == os.getpid():
                self.path.unlink(missing_ok=True)
            self._file.close()
            self._file = None


# --- the background process -------------------------------------------------------------------------

class StartFailed(Exception):
    pass


def start_background(argv: list[str], state_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` detached: its own session (the terminal's Ctrl-C and hang-up do not reach it),
    no stdin, stdout and stderr appended to the state folder's log."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / LOG_FILE, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv[1:])}\n".encode())
        log.flush()
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, close_fds=True)


def _last_error(log: Path, offset: int) -> str:
    """The line that says why a start failed: the last `Error:` line (click's), else the last line."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = [line.strip() for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or lines or [""])[-1].removeprefix("Error:").strip()


def wait_ready(state_dir: Path, proc: subprocess.Popen[bytes], timeout: float, log_offset: int = 0) -> dict[str, Any]:
    """Wait until the background cluster writes its ready file (returned), exits (StartFailed with
    its error), or `timeout` passes (StartFailed; it keeps starting)."""
    deadline = time.monotonic() + timeout
    log = state_dir / LOG_FILE
    while True:
        ready = read_ready(state_dir)
        if ready is not None and ready.get("pid") == proc.pid:
            return ready
        code = proc.poll()
        if code is not None:
            why = _last_error(log, log_offset) or f"exit code {code}"
            raise StartFailed(f"boxk8s stopped while starting: {why} (log: {log})")
        if time.monotonic() > deadline:
            raise StartFailed(f"boxk8s is not ready after {timeout:.0f}s and goes on starting in the background "
                              f"(pid {proc.pid}, log: {log})")
        time.sleep(POLL_SECONDS)


def stop_process(pid: int, timeout: float) -> bool:
    """SIGTERM, then SIGKILL if it still lives after `timeout` seconds. True: it stopped by itself."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 10.0)
    return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and not _zombie(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _zombie(pid: int) -> bool:
    """A child of ours that exited but was not reaped is dead for our purpose."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def python_command(*args: str) -> list[str]:
    """This Python running the boxk8s next to this file (whatever is installed elsewhere)."""
    return [sys.executable, "-m", "boxk8s.cli", *args]


BACKGROUND_ENV = "BOXK8S_BACKGROUND"


def is_background_child() -> bool:
    return os.environ.get(BACKGROUND_ENV) == "1"


def child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    env["PYTHONUNBUFFERED"] = "1"  # the log shows each line as it is written
    return env
