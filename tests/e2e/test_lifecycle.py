"""`boxk8s up` as a user runs it: kubeconfig merge, clean stop, restart keeping state."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.conftest import start_boxk8s, stop_boxk8s
from tests.e2e.docker_cleanup import remove_cluster_objects


def test_up_merges_context_and_restart_keeps_objects(tmp_path: Path) -> None:
    user_config = tmp_path / "kube" / "config"
    user_config.parent.mkdir()
    user_config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "other", "cluster": {"server": "https://other.example:6443"}}],
        "users": [{"name": "other", "user": {"token": "x"}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
    }))
    state = tmp_path / "state"
    b = start_boxk8s(state, user_kubeconfig=user_config)
    try:
        merged = yaml.safe_load(user_config.read_text())
        ours = f"boxk8s-{b.cluster_name}"  # named after the cluster: projects' clusters sit side by side
        assert merged["current-context"] == ours
        assert {c["name"] for c in merged["contexts"]} == {"other", ours}
        assert {c["name"] for c in merged["clusters"]} == {"other", ours}
        # kubectl with the merged user config reaches the cluster.
        b.kubeconfig = user_config
        b.kubectl("create", "configmap", "survivor", "--from-literal=k=v")
        before = json.loads(b.kubectl("get", "configmap", "survivor", "-o", "json").stdout)
        unauth = b.kubectl("get", "pods", "--token", "wrong", check=False)
        assert unauth.returncode != 0 and "Unauthorized" in unauth.stderr
    finally:
        assert stop_boxk8s(b) == 0, b.log_tail()
    again = start_boxk8s(state, port=b.port, cluster_name=b.cluster_name)
    try:
        after = json.loads(again.kubectl("get", "configmap", "survivor", "-o", "json").stdout)
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["data"] == {"k": "v"}
    finally:
        code = stop_boxk8s(again)
        remove_cluster_objects(b.cluster_name)
        assert code == 0, again.log_tail()
