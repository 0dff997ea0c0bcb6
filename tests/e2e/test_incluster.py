"""In-cluster API access on Docker pods with the real kubectl: a pod running only a static kubectl
(boxk8s-kubectl:latest) uses its in-cluster config (the ServiceAccount volume, KUBERNETES_SERVICE_HOST,
the `kubernetes` Service's ClusterIP and certificate) and is refused or allowed as RBAC says; `kubectl
auth can-i --as`, `kubectl create token`, and the refusal of an expired token and of one bound to a
deleted pod."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from boxk8s.resources.jwt import sign
from boxk8s.resources.serviceaccount_token import claims
from tests.e2e.conftest import Boxk8s, start_boxk8s, stop_boxk8s, wait_for
from tests.e2e.docker_cleanup import free_subnet, remove_cluster_objects

KUBECTL_IMAGE = "boxk8s-kubectl:latest"
BUSYBOX = "boxk8s-busybox:latest"
NS = "incluster"
READER = f"system:serviceaccount:{NS}:reader"
ISSUER = "https://kubernetes.default.svc.cluster.local"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    built = subprocess.run(["docker", "image", "inspect", KUBECTL_IMAGE], capture_output=True)
    if built.returncode != 0:
        subprocess.run(["bash", str(SCRIPTS / "build_images.sh")], check=True, timeout=300)
    b = start_boxk8s(tmp_path_factory.mktemp("boxk8s") / "state", cluster_name=f"boxk8s-auth-{uuid.uuid4().hex[:6]}",
                     pod_subnet=free_subnet("10.221"))
    try:
        b.kubectl("create", "namespace", NS)
        b.kubectl("-n", NS, "create", "serviceaccount", "reader")
        yield b
    finally:
        code = stop_boxk8s(b)
        remove_cluster_objects(b.cluster_name)
    assert code == 0, f"boxk8s did not stop cleanly ({code}):\n{b.log_tail()}"


def run_kubectl_pod(cluster: Boxk8s, name: str, *args: str) -> tuple[str, str]:
    """Run `kubectl ARGS` in a pod of the reader account; (its phase once ended, its log)."""
    cluster.kubectl("-n", NS, "run", name, f"--image={KUBECTL_IMAGE}", "--image-pull-policy=Never", "--restart=Never",
                    '--overrides={"spec": {"serviceAccountName": "reader"}}', "--", *args)

    def ended() -> str:
        phase = cluster.kubectl("-n", NS, "get", "pod", name, "-o", "jsonpath={.status.phase}").stdout.strip()
        return phase if phase in ("Succeeded", "Failed") else ""

    phase = wait_for(ended, timeout=90, what=f"pod {name} to end")
    return phase, cluster.kubectl("-n", NS, "logs", name).stdout


def test_kubectl_in_a_pod_is_refused_then_allowed_by_a_rolebinding_to_view(cluster: Boxk8s) -> None:
    phase, log = run_kubectl_pod(cluster, "denied", "get", "pods")
    assert phase == "Failed", log
    assert (f'Error from server (Forbidden): pods is forbidden: User "{READER}" cannot list resource "pods" in '
            f'API group "" in the namespace "{NS}"') in log
    cluster.kubectl("-n", NS, "create", "rolebinding", "reader-view", "--clusterrole=view",
                    f"--serviceaccount={NS}:reader")
    phase, log = run_kubectl_pod(cluster, "allowed", "get", "pods")
    assert phase == "Succeeded", log
    lines = log.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert any(line.split()[0] == "denied" and "Error" in line for line in lines[1:]), log
    phase, log = run_kubectl_pod(cluster, "no-secrets", "get", "secrets")
    assert phase == "Failed" and 'cannot list resource "secrets"' in log
    # By name, through the cluster DNS, verified with the pod's ca.crt: the certificate is valid for it too.
    token = cluster.kubectl("-n", NS, "create", "token", "reader").stdout.strip()
    phase, log = run_kubectl_pod(cluster, "by-name", "--server=https://kubernetes.default.svc",
                                 "--certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                                 f"--token={token}", f"--namespace={NS}", "get", "pods")
    assert phase == "Succeeded", log
    assert log.splitlines()[0].split()[0] == "NAME"


def test_the_pod_sees_the_kubernetes_service_and_its_account(cluster: Boxk8s) -> None:
    cluster.kubectl("-n", NS, "run", "env", f"--image={BUSYBOX}", "--image-pull-policy=Never", "--restart=Never",
                    '--overrides={"spec": {"serviceAccountName": "reader"}}', "--", "sh", "-c",
                    "env | grep ^KUBERNETES_ | sort; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace")
    wait_for(lambda: cluster.kubectl("-n", NS, "get", "pod", "env", "-o", "jsonpath={.status.phase}").stdout
             == "Succeeded", timeout=60, what="pod env to succeed")
    out = cluster.kubectl("-n", NS, "logs", "env").stdout
    ip = cluster.kubectl("get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert f"KUBERNETES_SERVICE_HOST={ip}" in out and "KUBERNETES_SERVICE_PORT=443" in out
    assert f"KUBERNETES_PORT_443_TCP=tcp://{ip}:443" in out
    assert out.rstrip().endswith(NS)


def test_auth_can_i_as_a_service_account_answers_as_the_bindings_say(cluster: Boxk8s) -> None:
    cluster.kubectl("-n", NS, "create", "serviceaccount", "other")
    cluster.kubectl("-n", NS, "create", "role", "cm-editor", "--verb=get,update", "--resource=configmaps",
                    "--resource-name=settings")
    cluster.kubectl("-n", NS, "create", "rolebinding", "other-cm", "--role=cm-editor", f"--serviceaccount={NS}:other")
    other = f"system:serviceaccount:{NS}:other"

    def can(*args: str) -> str:
        result = cluster.kubectl("auth", "can-i", *args, check=False)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout.strip()

    assert wait_for(lambda: can("update", "configmaps/settings", "-n", NS, "--as", other) == "yes",
                    what="the binding to apply") is True
    assert can("update", "configmaps/other", "-n", NS, "--as", other) == "no"
    assert can("delete", "configmaps/settings", "-n", NS, "--as", other) == "no"
    assert can("update", "configmaps/settings", "-n", "default", "--as", other) == "no"
    assert can("list", "pods", "-n", NS, "--as", other) == "no"
    cluster.kubectl("-n", NS, "create", "serviceaccount", "viewer")
    cluster.kubectl("-n", NS, "create", "rolebinding", "viewer-view", "--clusterrole=view",
                    f"--serviceaccount={NS}:viewer")
    viewer = f"system:serviceaccount:{NS}:viewer"
    assert wait_for(lambda: can("list", "pods", "-n", NS, "--as", viewer) == "yes", what="viewer's binding") is True
    assert can("create", "pods", "-n", NS, "--as", viewer) == "no"
    assert can("list", "pods", "-n", NS) == "yes"  # the admin

    cluster.kubectl("-n", NS, "create", "rolebinding", "ops-view", "--clusterrole=view", "--group=ops")
    assert wait_for(lambda: can("get", "pods", "-n", NS, "--as", "jane", "--as-group", "ops") == "yes",
                    what="the group's binding") is True
    assert can("get", "pods", "-n", NS, "--as", "jane") == "no"

    listed = cluster.kubectl("auth", "can-i", "--list", "-n", NS, "--as", other).stdout.splitlines()
    assert listed[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert any(line.split() == ["configmaps", "[]", "[settings]", "[get", "update]"] for line in listed), listed
    assert ["[/api/*]", "[]", "[get]"] in [line.split() for line in listed], listed  # system:discovery


def test_a_created_token_works_with_kubectl_token(cluster: Boxk8s) -> None:
    token = cluster.kubectl("-n", NS, "create", "token", "reader", "--duration=10m").stdout.strip()
    whoami = cluster.kubectl("auth", "whoami", "--token", token).stdout
    assert READER in whoami and f"system:serviceaccounts:{NS}" in whoami
    wait_for(lambda: cluster.kubectl("-n", NS, "get", "pods", "--token", token, check=False).returncode == 0,
             what="reader to list pods")
    refused = cluster.kubectl("-n", NS, "get", "secrets", "--token", token, check=False)
    assert refused.returncode == 1
    assert (f'Error from server (Forbidden): secrets is forbidden: User "{READER}" cannot list resource "secrets" in '
            f'API group "" in the namespace "{NS}"') in refused.stderr


def _signing_key(cluster: Boxk8s) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((cluster.state_dir / "pki" / "sa.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def test_an_expired_token_and_one_bound_to_a_deleted_pod_are_refused(cluster: Boxk8s) -> None:
    account = {"metadata": {"name": "reader", "namespace": NS, "uid": cluster.kubectl(
        "-n", NS, "get", "serviceaccount", "reader", "-o", "jsonpath={.metadata.uid}").stdout}}
    expired = sign(claims(ISSUER, account, audiences=[ISSUER], expiration_seconds=600, now=time.time() - 3600),
                   _signing_key(cluster))
    refused = cluster.kubectl("-n", NS, "get", "pods", "--token", expired, check=False)
    assert refused.returncode == 1
    assert "error: You must be logged in to the server (Unauthorized)" in refused.stderr

    cluster.kubectl("-n", NS, "run", "holder", f"--image={BUSYBOX}", "--image-pull-policy=Never",
                    '--overrides={"spec": {"serviceAccountName": "reader"}}', "--", "sleep", "3600")
    bound = cluster.kubectl("-n", NS, "create", "token", "reader", "--bound-object-kind=Pod",
                            "--bound-object-name=holder").stdout.strip()
    wait_for(lambda: cluster.kubectl("-n", NS, "get", "pods", "--token", bound, check=False).returncode == 0,
             what="the bound token to work")
    cluster.kubectl("-n", NS, "delete", "pod", "holder", "--grace-period=1")
    gone = wait_for(lambda: (r := cluster.kubectl("-n", NS, "get", "pods", "--token", bound, check=False)).returncode
                    and r, timeout=30, what="the bound token to be refused")
    assert "error: You must be logged in to the server (Unauthorized)" in gone.stderr
