"""Admission webhooks served by a pod on real Docker: a busybox sh script behind socat's TLS listener
(boxk8s-webhook image, fixtures/webhook.sh), its certificate from a Secret, reached through its
Service. It refuses objects with its message and adds a label; with the pod gone, failurePolicy
Fail refuses with the apiserver's message and Ignore admits."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boxk8s.tls import ensure_credentials, issue_certificate
from tests.e2e.conftest import Boxk8s, running_boxk8s, wait_for
from tests.e2e.docker_cleanup import free_subnet

IMAGE = "boxk8s-webhook:latest"
NS = "hooks"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
SCRIPT = Path(__file__).resolve().parent / "fixtures" / "webhook.sh"
PATCH = [{"op": "add", "path": "/metadata/labels/mutated-by", "value": "pod-webhook"}]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode != 0:
        subprocess.run(["bash", str(SCRIPTS / "build_images.sh")], check=True, timeout=300)
    yield from running_boxk8s(tmp_path_factory, cluster_name=f"webhooks-{uuid.uuid4().hex[:6]}",
                              pod_subnet=free_subnet("10.222"))


def apply(cluster: Boxk8s, *objs: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def webhook_pod() -> dict[str, Any]:
    patch = base64.b64encode(json.dumps(PATCH).encode()).decode()
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "webhook", "namespace": NS,
                                                            "labels": {"app": "webhook"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "webhook", "image": IMAGE, "imagePullPolicy": "Never",
                "command": ["socat", "OPENSSL-LISTEN:8443,fork,reuseaddr,cert=/tls/tls.crt,key=/tls/tls.key,verify=0",
                            "EXEC:/bin/sh /hook/webhook.sh"],
                "env": [{"name": "PATCH", "value": patch}],
                "ports": [{"containerPort": 8443}],
                "readinessProbe": {"tcpSocket": {"port": 8443}, "periodSeconds": 1},
                "volumeMounts": [{"name": "tls", "mountPath": "/tls"}, {"name": "hook", "mountPath": "/hook"}]}],
                "volumes": [{"name": "tls", "secret": {"secretName": "webhook-tls"}},
                            {"name": "hook", "configMap": {"name": "webhook-script"}}]}}


def configuration(kind: str, name: str, path: str, ca_bundle: str, failure_policy: str) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [{
                "name": f"{name}.boxk8s.test", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "failurePolicy": failure_policy, "timeoutSeconds": 5,
                "clientConfig": {"service": {"name": "webhook", "namespace": NS, "path": path},
                                 "caBundle": ca_bundle},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["configmaps"]}]}]}


def create_configmap(cluster: Boxk8s, name: str) -> subprocess.CompletedProcess[str]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
          "data": {"k": "v"}}
    return cluster.kubectl("create", "-f", "-", input=json.dumps(cm), check=False)


def test_a_webhook_served_by_a_pod_refuses_mutates_and_fails_as_its_policy_says(
        cluster: Boxk8s, tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "pki")
    cert, key = issue_certificate(tmp_path / "pki", [f"webhook.{NS}.svc"], "webhook")
    ca_bundle = base64.b64encode(creds.ca_pem).decode()
    cluster.kubectl("create", "namespace", NS)
    apply(cluster,
          {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
           "metadata": {"name": "webhook-tls", "namespace": NS},
           "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}},
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "webhook-script", "namespace": NS},
           "data": {"webhook.sh": SCRIPT.read_text()}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": NS},
           "spec": {"selector": {"app": "webhook"}, "ports": [{"port": 443, "targetPort": 8443}]}},
          webhook_pod())
    cluster.kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/webhook", "--timeout=90s", timeout=100)
    apply(cluster, configuration("ValidatingWebhookConfiguration", "deny-bad", "/validate", ca_bundle, "Fail"),
          configuration("MutatingWebhookConfiguration", "label", "/mutate", ca_bundle, "Fail"))

    refused = create_configmap(cluster, "bad-one").stderr
    assert ('Error from server (Forbidden): error when creating "STDIN": admission webhook '
            '"deny-bad.boxk8s.test" denied the request: the name bad-one is not allowed here') in refused, refused
    created = create_configmap(cluster, "good-one")
    assert created.returncode == 0, created.stderr
    labels = json.loads(cluster.kubectl("-n", NS, "get", "cm", "good-one", "-o", "json").stdout)["metadata"]["labels"]
    assert labels == {"app": "good-one", "mutated-by": "pod-webhook"}

    cluster.kubectl("-n", NS, "delete", "pod", "webhook", "--wait=true", timeout=90)
    wait_for(lambda: not cluster.kubectl("-n", NS, "get", "endpointslices", "-l", "kubernetes.io/service-name=webhook",
                                         "-o", "jsonpath={.items[*].endpoints[*].addresses}").stdout.strip(),
             what="the webhook's endpoints to go")
    down = create_configmap(cluster, "while-down")
    assert down.returncode == 1
    assert ('Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling '
            'webhook "label.boxk8s.test": failed to call webhook: Post '
            f'"https://webhook.{NS}.svc:443/mutate?timeout=5s": no endpoints available for service "webhook"'
            ) in down.stderr, down.stderr
    apply(cluster, configuration("ValidatingWebhookConfiguration", "deny-bad", "/validate", ca_bundle, "Ignore"),
          configuration("MutatingWebhookConfiguration", "label", "/mutate", ca_bundle, "Ignore"))
    admitted = create_configmap(cluster, "bad-but-admitted")
    assert admitted.returncode == 0, admitted.stderr
