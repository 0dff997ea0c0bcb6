"""The real kubectl 1.32, default flags, against a running `boxk8s up`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.conftest import Boxk8s, wait_for

APP = Path(__file__).parent / "fixtures" / "app.yaml"  # a small app of every common kind (the example before manifests/ had one)


def get_json(c: Boxk8s, *args: str) -> dict:
    return json.loads(c.kubectl("get", *args, "-o", "json").stdout)


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_version_and_api_resources(cluster: Boxk8s) -> None:
    out = cluster.kubectl("version").stdout
    assert "Server Version: v1.32" in out
    res = cluster.kubectl("api-resources").stdout
    lines = {line.split()[0]: line for line in res.splitlines()[1:]}
    for name in ("pods", "deployments", "services", "configmaps", "secrets", "ingresses", "leases",
                 "endpointslices", "namespaces", "nodes", "statefulsets", "daemonsets"):
        assert name in lines, res
    assert "deploy" in lines["deployments"] and "apps/v1" in lines["deployments"]


def test_apply_create_unchanged_configured(cluster: Boxk8s, tmp_path: Path) -> None:
    modified = tmp_path / "app-modified.yaml"
    text = APP.read_text()
    assert "value: dev" in text and "greeting: hello" in text
    modified.write_text(text.replace("value: dev", "value: prod").replace("greeting: hello", "greeting: bonjour"))
    out = cluster.kubectl("apply", "-f", str(APP)).stdout
    for ref in ("namespace/demo", "configmap/web-config", "secret/web-secret", "deployment.apps/web",
                "service/web", "pod/solo", "ingress.networking.k8s.io/web"):
        assert f"{ref} created" in out, out
    again = cluster.kubectl("apply", "-f", str(APP)).stdout
    # The Secret's stringData is merged into data and never stored, so client-side apply finds it
    # missing and patches it again: "configured", as on a real cluster (kubernetes#87736).
    assert again.count("unchanged") == 6 and "secret/web-secret configured" in again, again

    # Someone else adds an env var, a port and a sidecar container: apply must keep them.
    cluster.kubectl(
        "patch", "deployment", "web", "-n", "demo", "--type=strategic", "-p",
        json.dumps({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"name": "EXTRA", "value": "kept"}],
             "ports": [{"containerPort": 9090, "name": "metrics"}]},
            {"name": "sidecar", "image": "boxk8s-busybox:latest",
             "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]},
        ]}}}}),
    )
    changed = cluster.kubectl("apply", "-f", str(modified)).stdout
    assert "deployment.apps/web configured" in changed, changed
    assert "configmap/web-config configured" in changed, changed
    assert "service/web unchanged" in changed, changed
    dep = get_json(cluster, "deployment", "web", "-n", "demo")
    containers = {c["name"]: c for c in dep["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"web", "sidecar"}
    env = {e["name"]: e["value"] for e in containers["web"]["env"]}
    assert env == {"MODE": "prod", "EXTRA": "kept"}
    assert {p["containerPort"] for p in containers["web"]["ports"]} == {8080, 9090}
    assert dep["metadata"]["generation"] == 3
    cm = get_json(cluster, "configmap", "web-config", "-n", "demo")
    assert cm["data"] == {"greeting": "bonjour"}


def test_get_columns_and_formats(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", str(APP))
    expect = {
        "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        "configmaps": ["NAME", "DATA", "AGE"],
        "secrets": ["NAME", "TYPE", "DATA", "AGE"],
        "ingresses": ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
    }
    for kind, cols in expect.items():
        out = cluster.kubectl("get", kind, "-n", "demo").stdout
        assert header(out) == cols, out
    ns = cluster.kubectl("get", "namespaces").stdout
    assert header(ns) == ["NAME", "STATUS", "AGE"]
    for name in ("default", "kube-system", "kube-public", "kube-node-lease", "demo"):
        assert name in ns
    wait_for(lambda: "Running" in cluster.kubectl("get", "pod", "solo", "-n", "demo").stdout, what="solo Running")
    pods = cluster.kubectl("get", "pods", "-n", "demo").stdout
    assert "solo" in pods and "1/1" in pods and "Running" in pods
    wide = cluster.kubectl("get", "pods", "-n", "demo", "-o", "wide").stdout
    assert header(wide)[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    as_yaml = yaml.safe_load(cluster.kubectl("get", "configmap", "web-config", "-n", "demo", "-o", "yaml").stdout)
    assert as_yaml["kind"] == "ConfigMap" and as_yaml["metadata"]["uid"]
    names = cluster.kubectl("get", "configmaps,secrets", "-n", "demo", "-o", "name").stdout.split()
    assert "configmap/web-config" in names and "secret/web-secret" in names
    labelled = cluster.kubectl("get", "pods", "-n", "demo", "-l", "app=solo", "-o", "name").stdout.split()
    assert labelled == ["pod/solo"]
    none = cluster.kubectl("get", "pods", "-n", "demo", "-l", "app=nothing").stderr
    assert "No resources found" in none
    by_field = cluster.kubectl("get", "pods", "-A", "--field-selector", "metadata.name=solo", "-o", "name").stdout
    assert by_field.split() == ["pod/solo"]
    running = cluster.kubectl("get", "pods", "-n", "demo", "--field-selector", "status.phase=Running", "-o", "name")
    # the demo Deployment's pods run too (pod/web-<hash>-<suffix>)
    assert [n for n in running.stdout.split() if not n.startswith("pod/web-")] == ["pod/solo"]
    failed = cluster.kubectl("get", "pods", "-n", "demo", "--field-selector", "status.phase=Failed").stderr
    assert "No resources found" in failed
    all_ns = cluster.kubectl("get", "services", "-A").stdout
    assert header(all_ns)[0] == "NAMESPACE" and "kubernetes" in all_ns and "demo" in all_ns
    everything = cluster.kubectl("get", "all", "-n", "demo").stdout
    assert "pod/solo" in everything and "service/web" in everything and "deployment.apps/web" in everything


def test_describe_pod(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", str(APP))
    wait_for(lambda: "Running" in cluster.kubectl("get", "pod", "solo", "-n", "demo").stdout, what="solo Running")
    out = cluster.kubectl("describe", "pod", "solo", "-n", "demo").stdout
    assert "Name:" in out and "solo" in out and "Namespace:" in out and "demo" in out
    assert "boxk8s-busybox:latest" in out and "Status:" in out and "Running" in out
    assert "Node:" in out and "boxk8s-control-plane" in out
    for reason in ("Scheduled", "Created", "Started"):
        assert reason in out, out


def test_get_watch_prints_later_change(cluster: Boxk8s) -> None:
    cluster.kubectl("create", "configmap", "watched", "-n", "default", "--from-literal=a=1")
    cmd = ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cluster.cache_dir),
           "get", "configmaps", "-n", "default", "-w", "--output-watch-events"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "EVENT" in first or "watched" in first
        lines = [first]
        while not any("watched" in line for line in lines):
            lines.append(proc.stdout.readline())
        cluster.kubectl("label", "configmap", "watched", "-n", "default", "seen=yes")
        cluster.kubectl("delete", "configmap", "watched", "-n", "default")
        events = []
        while len(events) < 2:
            line = proc.stdout.readline()
            assert line, "watch ended early"
            if "watched" in line:
                events.append(line.split()[0])
        assert events == ["MODIFIED", "DELETED"], events
    finally:
        proc.kill()
        proc.wait()


def test_label_annotate_scale(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", str(APP))
    cluster.kubectl("label", "pod", "solo", "-n", "demo", "tier=backend")
    cluster.kubectl("annotate", "pod", "solo", "-n", "demo", "note=hello")
    pod = get_json(cluster, "pod", "solo", "-n", "demo")
    assert pod["metadata"]["labels"]["tier"] == "backend"
    assert pod["metadata"]["annotations"]["note"] == "hello"
    cluster.kubectl("label", "pod", "solo", "-n", "demo", "tier-")
    assert "tier" not in get_json(cluster, "pod", "solo", "-n", "demo")["metadata"]["labels"]
    out = cluster.kubectl("scale", "deployment", "web", "-n", "demo", "--replicas=3").stdout
    assert "scaled" in out
    assert get_json(cluster, "deployment", "web", "-n", "demo")["spec"]["replicas"] == 3


def test_create_configmap_and_secret(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", str(APP))
    cluster.kubectl("create", "configmap", "lit", "-n", "default", "--from-literal=k1=v1", "--from-literal=k2=v2")
    assert get_json(cluster, "configmap", "lit", "-n", "default")["data"] == {"k1": "v1", "k2": "v2"}
    cluster.kubectl("create", "secret", "generic", "gen", "-n", "default", "--from-literal=user=admin")
    sec = get_json(cluster, "secret", "gen", "-n", "default")
    assert sec["type"] == "Opaque" and sec["data"] == {"user": "YWRtaW4="}
    twice = cluster.kubectl("create", "configmap", "lit", "-n", "default", "--from-literal=k1=v1", check=False)
    assert twice.returncode != 0 and 'configmaps "lit" already exists' in twice.stderr
    from_file = cluster.kubectl("create", "-f", str(APP), check=False)
    assert from_file.returncode != 0
    assert 'Error from server (AlreadyExists): error when creating' in from_file.stderr, from_file.stderr
    assert 'namespaces "demo" already exists' in from_file.stderr


def test_edit_with_editor_script(cluster: Boxk8s, tmp_path: Path) -> None:
    cluster.kubectl("create", "configmap", "editme", "-n", "default", "--from-literal=color=red")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "p = sys.argv[-1]\n"
        "s = open(p).read().replace('color: red', 'color: blue')\n"
        "open(p, 'w').write(s)\n"
    )
    cluster.kubectl("edit", "configmap", "editme", "-n", "default",
                    env={"EDITOR": f"{sys.executable} {editor}", "KUBE_EDITOR": f"{sys.executable} {editor}"})
    assert get_json(cluster, "configmap", "editme", "-n", "default")["data"] == {"color": "blue"}


def test_patch_types(cluster: Boxk8s) -> None:
    cluster.kubectl("create", "configmap", "patched", "-n", "default", "--from-literal=a=1", "--from-literal=b=2")
    cluster.kubectl("patch", "configmap", "patched", "-n", "default", "--type=merge", "-p", '{"data":{"a":"10","b":null}}')
    assert get_json(cluster, "configmap", "patched", "-n", "default")["data"] == {"a": "10"}
    cluster.kubectl("patch", "configmap", "patched", "-n", "default", "--type=json",
                    "-p", '[{"op":"add","path":"/data/c","value":"3"},{"op":"remove","path":"/data/a"}]')
    assert get_json(cluster, "configmap", "patched", "-n", "default")["data"] == {"c": "3"}
    cluster.kubectl("patch", "configmap", "patched", "-n", "default", "--type=strategic", "-p", '{"data":{"d":"4"}}')
    assert get_json(cluster, "configmap", "patched", "-n", "default")["data"] == {"c": "3", "d": "4"}
    bad = cluster.kubectl("patch", "configmap", "patched", "-n", "default", "--type=json",
                          "-p", '[{"op":"test","path":"/data/c","value":"nope"}]', check=False)
    assert bad.returncode != 0
    assert get_json(cluster, "configmap", "patched", "-n", "default")["data"] == {"c": "3", "d": "4"}


def test_server_side_apply_and_diff(cluster: Boxk8s, tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "ssa", "namespace": "default", "labels": {"owner": "ssa"}},
        "data": {"x": "1"},
    }
    f = tmp_path / "ssa.yaml"
    f.write_text(yaml.safe_dump(manifest))
    out = cluster.kubectl("apply", "--server-side", "-f", str(f)).stdout
    assert "serverside-applied" in out
    obj = get_json(cluster, "configmap", "ssa", "-n", "default", "--show-managed-fields")
    managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
    assert "kubectl" in managers
    manifest["data"] = {"x": "2"}
    f.write_text(yaml.safe_dump(manifest))
    diff = cluster.kubectl("diff", "-f", str(f), check=False)
    assert diff.returncode == 1, diff.stderr
    assert '-  x: "1"' in diff.stdout and '+  x: "2"' in diff.stdout
    assert get_json(cluster, "configmap", "ssa", "-n", "default")["data"] == {"x": "1"}  # diff wrote nothing
    cluster.kubectl("apply", "--server-side", "-f", str(f))
    assert get_json(cluster, "configmap", "ssa", "-n", "default")["data"] == {"x": "2"}


def test_explain(cluster: Boxk8s) -> None:
    out = cluster.kubectl("explain", "deployment.spec.replicas").stdout
    assert "replicas" in out and "integer" in out and "Number of desired pods" in out


def test_invalid_manifests_are_refused(cluster: Boxk8s, tmp_path: Path) -> None:
    base = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bad"}},
                 "template": {"metadata": {"labels": {"app": "bad"}},
                              "spec": {"containers": [{"name": "c", "image": "boxk8s-busybox:latest"}]}}},
    }
    cases = []
    wrong_type = json.loads(json.dumps(base))
    wrong_type["spec"]["replicas"] = "three"
    cases.append((wrong_type, "spec.replicas"))
    unknown = json.loads(json.dumps(base))
    unknown["spec"]["replicass"] = 2
    cases.append((unknown, "replicass"))
    no_name = json.loads(json.dumps(base))
    del no_name["metadata"]["name"]
    cases.append((no_name, "name"))
    for i, (manifest, field) in enumerate(cases):
        f = tmp_path / f"bad{i}.yaml"
        f.write_text(yaml.safe_dump(manifest))
        result = cluster.kubectl("apply", "-f", str(f), check=False)
        assert result.returncode != 0, result.stdout
        assert field in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    missing = cluster.kubectl("get", "deployment", "bad", "-n", "default", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_delete_and_wait(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", str(APP))
    # A process that ends on SIGTERM: deletion returns as soon as its container has stopped,
    # whether the pod was still unscheduled (deleted at once) or already running (graceful).
    cluster.kubectl("run", "quick", "-n", "default", "--image=boxk8s-busybox:latest", "--",
                    "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")
    out = cluster.kubectl("delete", "pod", "quick", "-n", "default", timeout=25).stdout
    assert 'pod "quick" deleted' in out
    assert cluster.kubectl("get", "pod", "quick", "-n", "default", check=False).returncode != 0
    cluster.kubectl("create", "configmap", "waited", "-n", "default", "--from-literal=a=b")
    waiter = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cluster.cache_dir),
         "wait", "--for=delete", "configmap/waited", "-n", "default", "--timeout=30s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    cluster.kubectl("delete", "configmap", "waited", "-n", "default")
    assert waiter.wait(timeout=40) == 0, waiter.stderr.read() if waiter.stderr else ""
    deleted = cluster.kubectl("delete", "-f", str(APP), timeout=60).stdout
    assert 'namespace "demo" deleted' in deleted, deleted
    wait_for(lambda: cluster.kubectl("get", "namespace", "demo", check=False).returncode != 0,
             what="namespace demo to go")
    leftovers = cluster.kubectl("get", "all", "-n", "demo", check=False)
    assert "solo" not in leftovers.stdout
