"""The real kubectl 1.32 against an in-process API: the cluster-level kinds print the columns a 1.32
cluster prints, take its defaults, refuse what it refuses in its words, and a CSR goes through
`kubectl certificate approve`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from boxk8s.api.app import ApiSettings, build_app
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers import ControllerFactory

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

MANIFEST = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/fast
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: alice}
- {kind: Group, name: devs}
- {kind: ServiceAccount, name: robot, namespace: default}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{ports: [{port: 5432}]}]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(state_dir: Path, controllers: Sequence[ControllerFactory] = ()) -> AsyncIterator[int]:
    """The store and resource layer (and these controllers) with the API app on a local port (plain
    HTTP, no token)."""
    settings = ClusterSettings(state_dir=state_dir)
    async with running(settings, controllers=list(controllers), nodes=[], scheduler=False, serve_api=False,
                       proxy=False) as c:
        runner = web.AppRunner(build_app(c.resources, ApiSettings(token="")))
        await runner.setup()
        try:
            port = _free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            yield port
        finally:
            await runner.cleanup()


class Kubectl:
    def __init__(self, port: int, cache: Path) -> None:
        self.base = ["kubectl", "--server", f"http://127.0.0.1:{port}", "--cache-dir", str(cache)]

    async def run(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *self.base, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        rc, out, err = await self.run(*args, stdin=stdin)
        assert rc == 0, (args, out, err)
        return out

    async def table(self, *args: str) -> list[list[str]]:
        """`kubectl get` output as rows of columns (split on runs of two or more spaces), AGE dropped."""
        rows = [re.split(r"\s{2,}", line.strip()) for line in (await self.ok("get", *args)).splitlines()]
        age = rows[0].index("AGE") if "AGE" in rows[0] else None
        return [[c for i, c in enumerate(r) if i != age] for r in rows]


@pytest.fixture
async def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Kubectl]:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    async with serving(tmp_path / "state") as port:
        yield Kubectl(port, tmp_path / "cache")


async def test_kubectl_prints_the_columns_of_a_real_cluster(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=MANIFEST)
    assert await kubectl.table("storageclass") == [
        ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION"],
        ["fast (default)", "example.com/fast", "Delete", "Immediate", "false"],
        ["standard (default)", "boxk8s.io/docker-volume", "Delete", "Immediate", "false"],  # the bootstrap's
    ]
    assert await kubectl.table("priorityclass", "high") == [
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "PREEMPTIONPOLICY"],
        ["high", "1000", "false", "PreemptLowerPriority"],
    ]
    assert await kubectl.table("clusterrolebinding", "viewers", "-o", "wide") == [
        ["NAME", "ROLE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        ["viewers", "ClusterRole/view", "alice", "devs", "default/robot"],
    ]
    assert await kubectl.table("hpa") == [
        ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS"],
        ["web", "Deployment/web", "cpu: <unknown>/80%", "1", "5", "0"],
    ]
    assert await kubectl.table("pdb") == [
        ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS"],
        ["web", "1", "N/A", "0"],
    ]
    assert await kubectl.table("netpol") == [["NAME", "POD-SELECTOR"], ["db", "app=db"]]
    # what the apiserver defaulted, as `-o yaml` shows it
    netpol = json.loads(await kubectl.ok("get", "netpol", "db", "-o", "json"))
    assert netpol["spec"]["policyTypes"] == ["Ingress"]
    assert netpol["spec"]["ingress"] == [{"ports": [{"port": 5432, "protocol": "TCP"}]}]
    # applying the manifest again finds nothing to change where defaults filled plain fields (kubectl
    # re-sends atomic lists and `replace` fields, as against any cluster: the binding, PDB and policy)
    out = await kubectl.ok("apply", "-f", "-", stdin=MANIFEST)
    for unchanged in ("storageclass.storage.k8s.io/fast", "priorityclass.scheduling.k8s.io/high",
                      "horizontalpodautoscaler.autoscaling/web"):
        assert f"{unchanged} unchanged" in out, out


async def test_kubectls_typed_commands_send_protobuf(kubectl: Kubectl) -> None:
    await kubectl.ok("create", "clusterrolebinding", "admins", "--clusterrole=cluster-admin", "--user=bob")
    await kubectl.ok("create", "role", "reader", "--verb=get,list", "--resource=pods")
    await kubectl.ok("create", "rolebinding", "readers", "--role=reader", "--serviceaccount=default:robot")
    await kubectl.ok("create", "priorityclass", "low", "--value=0", "--description=least")
    await kubectl.ok("create", "poddisruptionbudget", "db", "--selector=app=db", "--max-unavailable=25%")
    assert await kubectl.table("rolebinding", "readers", "-o", "wide") == [
        ["NAME", "ROLE", "USERS", "GROUPS", "SERVICEACCOUNTS"], ["readers", "Role/reader", "default/robot"]]
    assert await kubectl.table("priorityclass", "low") == [
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "PREEMPTIONPOLICY"], ["low", "0", "false", "PreemptLowerPriority"]]
    assert await kubectl.table("pdb", "db") == [
        ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS"], ["db", "N/A", "25%", "0"]]
    [header, row] = (await kubectl.ok("get", "role", "reader")).splitlines()
    assert header.split() == ["NAME", "CREATED", "AT"] and row.split()[0] == "reader"


async def test_kubectl_shows_the_apiservers_refusals(kubectl: Kubectl) -> None:
    bad_hpa = MANIFEST.split("---")[3].replace("maxReplicas: 5", "maxReplicas: 1\n  minReplicas: 3")
    rc, _, err = await kubectl.run("create", "-f", "-", stdin=bad_hpa)
    assert rc == 1
    assert 'HorizontalPodAutoscaler "web" is invalid: spec.maxReplicas: Invalid value: 1: ' \
           "must be greater than or equal to `minReplicas`" in err, err
    binding = MANIFEST.split("---")[2]
    await kubectl.ok("apply", "-f", "-", stdin=binding)
    rc, _, err = await kubectl.run("apply", "-f", "-", stdin=binding.replace("name: view}", "name: edit}"))
    assert rc == 1
    assert ('ClusterRoleBinding "viewers" is invalid: roleRef: Invalid value: rbac.RoleRef{'
            'APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef') in err, err


def _csr_request() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])).sign(key, hashes.SHA256()))
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


async def test_a_csr_is_approved_through_its_approval_subresource(kubectl: Kubectl) -> None:
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "alice"},
           "spec": {"request": _csr_request(), "signerName": "kubernetes.io/kube-apiserver-client",
                    "usages": ["client auth"], "expirationSeconds": 86400, "username": "mallory"}}
    await kubectl.ok("create", "-f", "-", stdin=json.dumps(csr))
    header = ["NAME", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert await kubectl.table("csr") == [
        header, ["alice", "kubernetes.io/kube-apiserver-client", "kubernetes-admin", "24h", "Pending"]]
    out = await kubectl.ok("certificate", "approve", "alice")
    assert "approved" in out, out
    assert await kubectl.table("csr") == [
        header, ["alice", "kubernetes.io/kube-apiserver-client", "kubernetes-admin", "24h", "Approved"]]
    stored = json.loads(await kubectl.ok("get", "csr", "alice", "-o", "json"))
    [condition] = stored["status"]["conditions"]
    assert condition["type"] == "Approved" and condition["reason"] == "KubectlApprove"
    assert condition["lastUpdateTime"] and condition["lastTransitionTime"]
    assert stored["spec"]["groups"] == ["system:masters", "system:authenticated"]
