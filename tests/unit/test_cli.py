"""The command line: what `up -d` hands its background child, and failures as one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from boxk8s import cli, instance

ROOT = Path(__file__).resolve().parents[2]


def test_the_background_child_gets_the_flags_given_without_detach() -> None:
    with cli.main.make_context("boxk8s", ["--log-level", "DEBUG", "up"]) as root:
        ctx = cli.up.make_context("up", ["-d", "--state-dir", "/tmp/x", "--port", "7000", "--no-kubeconfig",
                                         "--dns-upstream", "1.1.1.1", "--dns-upstream", "9.9.9.9:53"],
                                  parent=root)
        assert cli._child_args(ctx) == [
            "--log-level", "DEBUG", "up", "--state-dir", "/tmp/x", "--port", "7000", "--no-kubeconfig",
            "--dns-upstream", "1.1.1.1", "--dns-upstream", "9.9.9.9:53"]


def test_the_background_child_gets_the_encryption_config_as_an_absolute_path(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with cli.main.make_context("boxk8s", ["up"]) as root:
        ctx = cli.up.make_context("up", ["-d", "--encryption-provider-config", "enc.yaml"], parent=root)
        assert cli._child_args(ctx)[-2:] == ["--encryption-provider-config", str(tmp_path / "enc.yaml")]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**instance.child_env(), "KUBECONFIG": str(cwd / "kubeconfig")}  # never the user's
    return subprocess.run([sys.executable, "-m", "boxk8s.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("args", [
    ["status"], ["down"], ["logs", "deploy/web"], ["kubeconfig"], ["node", "stop", "n1"],
    ["logs", "svc/web"], ["logs", "deploy/web", "--since", "soon"], ["up", "--pod-subnet", "not-a-subnet"],
    ["up", "--subnet-pool", "fd00::/64"], ["backup", "out.tar.gz"], ["restore", "missing.tar.gz"],
    ["up", "--snapshot-interval", "soon"], ["up", "--snapshot-keep", "0"],
])
def test_failures_are_one_line_and_non_zero(tmp_path: Path, args: list[str]) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr


def test_a_second_up_in_a_running_folder_is_refused(tmp_path: Path) -> None:
    """A process that holds the folder's pid lock and says boxk8s in its command line plays the
    running cluster: both `up` and `up -d` refuse, in one line."""
    holder = ("import sys; from pathlib import Path; from boxk8s import instance; "
              "instance.PidLock.claim(Path('.boxk8s')); print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", holder, "boxk8s"], cwd=tmp_path, env=instance.child_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        for args in (["up", "-d"], ["up", "--nodes", "0"]):
            result = run(*args, cwd=tmp_path)
            assert result.returncode == 1
            assert result.stderr.strip().splitlines() == [
                f"Error: the cluster in .boxk8s is already running (pid {proc.pid}): "
                "`boxk8s status` shows it, `boxk8s down` stops it"]
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("secret, error", [
    ("c2hvcnQ=", 'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of '
                 "the expected length, got 5, expected one of [16 24 32]"),
    (None, "No such file or directory"),
])
def test_a_bad_encryption_config_is_refused_in_one_line(tmp_path: Path, secret: str | None, error: str) -> None:
    config = tmp_path / "encryption.yaml"
    if secret is not None:
        config.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
                          "- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: k1, secret: "
                          f"{secret}}}]}}\n")
        doing = "while parsing"
    else:
        doing = "opening"
    result = run("up", "--encryption-provider-config", "encryption.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f'Error: error {doing} encryption provider configuration file "{config}": {error}']
    assert not (tmp_path / ".boxk8s").exists()  # refused before anything started
