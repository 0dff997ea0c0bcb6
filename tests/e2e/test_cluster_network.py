"""The in-cluster data path on Docker pods, driven by the real kubectl: cluster DNS and ClusterIP
balancing from pods (names, ready endpoints only, readiness changes, rollouts with no failed
request, StatefulSet and headless names, ExternalName, names outside the cluster)."""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.rrset
import pytest

from tests.e2e.conftest import Boxk8s, running_boxk8s, wait_for

IMAGE = "boxk8s-busybox:latest"

# A web server that answers its own pod name, and is ready while /www/ready exists.
WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 3
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: {image}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 8080 -h /www"]
        ports: [{{containerPort: 8080, name: http}}]
        readinessProbe:
          httpGet: {{path: /ready, port: http}}
          periodSeconds: 1
          failureThreshold: 1
        lifecycle:
          preStop: {{exec: {{command: ["sleep", "2"]}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {ns}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: {image}
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
"""


OUTSIDE_NAME, OUTSIDE_IP = "outside.example.", "192.0.2.7"


@contextlib.contextmanager
def fake_upstream() -> Iterator[int]:
    """A resolver on the host's 127.0.0.1 that knows one name outside the cluster (what the host's
    own resolvers would answer), standing in for /etc/resolv.conf's nameservers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            q = query.question[0]
            if q.name.to_text().lower() == OUTSIDE_NAME and q.rdtype == dns.rdatatype.A:
                reply.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", OUTSIDE_IP))
            elif q.name.to_text().lower() != OUTSIDE_NAME:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    """This module's own cluster, whose DNS forwards to fake_upstream."""
    with fake_upstream() as port:
        yield from running_boxk8s(tmp_path_factory, ["--dns-upstream", f"127.0.0.1:{port}"])


@pytest.fixture(scope="module")
def app(cluster: Boxk8s) -> Boxk8s:
    """A 3-replica web Deployment with its Service in namespace b, and a client pod in namespace a."""
    for ns in ("a", "b"):
        cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("apply", "-f", "-", input=WEB.format(ns="b", image=IMAGE))
    cluster.kubectl("apply", "-f", "-", input=CLIENT.format(ns="a", image=IMAGE))
    cluster.kubectl("-n", "b", "rollout", "status", "deploy/web", "--timeout=90s")
    cluster.kubectl("-n", "a", "wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    return cluster


def web_pods(cluster: Boxk8s) -> set[str]:
    out = cluster.kubectl("-n", "b", "get", "pods", "-l", "app=web", "--field-selector=status.phase=Running",
                          "-o", "jsonpath={.items[*].metadata.name}").stdout
    return set(out.split())


def fetch(cluster: Boxk8s, url: str, n: int) -> list[str]:
    """n requests from the client pod; each answer is the serving pod's name ("FAIL" for a failure)."""
    script = f"for i in $(seq {n}); do timeout 5 wget -qO- {url} || echo FAIL; done"
    out = cluster.kubectl("-n", "a", "exec", "client", "--", "sh", "-c", script, timeout=120).stdout
    return out.split()


def cluster_ip(cluster: Boxk8s) -> str:
    return cluster.kubectl("-n", "b", "get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()


@pytest.mark.parametrize("host", ["web.b", "web.b.svc", "web.b.svc.cluster.local", "CLUSTER-IP"])
def test_requests_by_name_and_cluster_ip_reach_every_ready_pod(app: Boxk8s, host: str) -> None:
    url = f"http://{cluster_ip(app) if host == 'CLUSTER-IP' else host}/"
    wait_for(lambda: fetch(app, url, 1) != ["FAIL"], timeout=10, what=f"{url} answering")
    answers = fetch(app, url, 60)
    pods = web_pods(app)
    assert len(pods) == 3
    assert "FAIL" not in answers and set(answers) == pods, collections.Counter(answers)


def test_pods_get_the_cluster_resolv_conf(app: Boxk8s) -> None:
    conf = app.kubectl("-n", "a", "exec", "client", "--", "cat", "/etc/resolv.conf").stdout
    dns_ip = app.kubectl("-n", "kube-system", "get", "svc", "kube-dns", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert f"nameserver {dns_ip}" in conf.splitlines(), conf
    assert any(line.split()[:4] == ["search", "a.svc.cluster.local", "svc.cluster.local", "cluster.local"]
               for line in conf.splitlines()), conf
    assert "options ndots:5" in conf, conf


def lookup(cluster: Boxk8s, name: str, ns: str = "a") -> set[str]:
    """The IPv4 addresses busybox nslookup prints for a name, from the client pod."""
    out = cluster.kubectl("-n", ns, "exec", "client", "--", "nslookup", "-type=a", name, check=False).stdout
    found = set()
    for line in out.split("Name:", 1)[1].splitlines() if "Name:" in out else []:
        if line.startswith("Address:"):
            with contextlib.suppress(ValueError):
                found.add(str(ipaddress.ip_address(line.split()[1])))
    return found


def test_names_outside_the_cluster_resolve_as_the_host_resolves_them(app: Boxk8s) -> None:
    assert lookup(app, OUTSIDE_NAME.rstrip(".")) == {OUTSIDE_IP}
    script = f"timeout 5 wget -qO- http://{OUTSIDE_NAME.rstrip('.')}:9/ 2>&1; true"
    out = app.kubectl("-n", "a", "exec", "client", "--", "sh", "-c", script).stdout
    assert "bad address" not in out, out  # resolved (the connection itself goes nowhere)


def test_a_pod_that_turns_unready_gets_no_request_and_comes_back(app: Boxk8s) -> None:
    ip = cluster_ip(app)
    victim = sorted(web_pods(app))[0]
    app.kubectl("-n", "b", "exec", victim, "--", "rm", "/www/ready")

    def unready() -> bool:
        out = app.kubectl("-n", "b", "get", "endpoints", "web", "-o", "jsonpath={.subsets[*].notReadyAddresses[*].targetRef.name}")
        return victim in out.stdout.split()

    wait_for(unready, timeout=20, what=f"{victim} unready in the Endpoints")
    # The agent's rules follow within a second; requests right after may still race that, so the
    # 30 that count start once one round of the ready pods has been seen without the victim.
    wait_for(lambda: victim not in fetch(app, f"http://{ip}/", 6), timeout=10, what="the victim out of rotation")
    answers = fetch(app, f"http://{ip}/", 30)
    assert "FAIL" not in answers and victim not in answers, collections.Counter(answers)

    app.kubectl("-n", "b", "exec", victim, "--", "touch", "/www/ready")
    wait_for(lambda: victim in fetch(app, f"http://{ip}/", 12), timeout=30, what=f"{victim} back in rotation")


def test_a_rollout_restart_fails_no_request(app: Boxk8s) -> None:
    ip = cluster_ip(app)
    before = web_pods(app)
    answers: list[str] = []
    stop = threading.Event()

    def client_loop() -> None:
        while not stop.is_set():
            answers.extend(fetch(app, f"http://{ip}/", 20))

    loop = threading.Thread(target=client_loop)
    loop.start()
    try:
        app.kubectl("-n", "b", "rollout", "restart", "deploy/web")
        app.kubectl("-n", "b", "rollout", "status", "deploy/web", "--timeout=120s", timeout=150)
        wait_for(lambda: not (web_pods(app) & before), timeout=60, what="the old pods gone")
        seen = len(answers)
        wait_for(lambda: len(answers) >= seen + 20, timeout=60, what="requests after the rollout")
    finally:
        stop.set()
        loop.join(timeout=120)
    after = web_pods(app)
    assert answers and "FAIL" not in answers, collections.Counter(answers)
    assert set(answers) & after, "no request reached a new pod"


STATEFUL = """
apiVersion: v1
kind: Service
metadata: {{name: db, namespace: {ns}}}
spec:
  clusterIP: None
  selector: {{app: db}}
  ports: [{{name: tcp, port: 5432}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {ns}}}
spec:
  serviceName: db
  replicas: 2
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: db
        image: {image}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "touch /ready && exec sleep 3600"]
        readinessProbe:
          exec: {{command: ["cat", "/ready"]}}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {{name: elsewhere, namespace: {ns}}}
spec:
  type: ExternalName
  externalName: web.b.svc.cluster.local
"""


def pod_ip(cluster: Boxk8s, ns: str, name: str) -> str:
    return cluster.kubectl("-n", ns, "get", "pod", name, "-o", "jsonpath={.status.podIP}").stdout.strip()


def test_statefulset_pods_headless_services_and_external_names_resolve(app: Boxk8s) -> None:
    app.kubectl("apply", "-f", "-", input=STATEFUL.format(ns="a", image=IMAGE))
    app.kubectl("-n", "a", "rollout", "status", "statefulset/db", "--timeout=90s")
    ips = {name: pod_ip(app, "a", name) for name in ("db-0", "db-1")}

    # web-0.web style names, short (search path) and full
    wait_for(lambda: lookup(app, "db-0.db.a.svc.cluster.local") == {ips["db-0"]}, timeout=10, what="db-0's name")
    assert lookup(app, "db-1.db.a.svc.cluster.local") == {ips["db-1"]}
    out = app.kubectl("-n", "a", "exec", "client", "--", "ping", "-c", "1", "-W", "5", "db-0.db").stdout
    assert ips["db-0"] in out, out

    # the headless Service lists exactly the ready pods
    assert lookup(app, "db.a.svc.cluster.local") == set(ips.values())
    app.kubectl("-n", "a", "exec", "db-1", "--", "rm", "/ready")
    wait_for(lambda: lookup(app, "db.a.svc.cluster.local") == {ips["db-0"]}, timeout=20, what="db-1 out of db")
    app.kubectl("-n", "a", "exec", "db-1", "--", "touch", "/ready")
    wait_for(lambda: lookup(app, "db.a.svc.cluster.local") == set(ips.values()), timeout=20, what="db-1 back in db")

    # a recreated pod's name follows its new IP
    uid = app.kubectl("-n", "a", "get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}").stdout
    app.kubectl("-n", "a", "delete", "pod", "db-0")
    wait_for(lambda: app.kubectl("-n", "a", "get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}",
                                 check=False).stdout not in ("", uid), timeout=30, what="db-0 recreated")
    app.kubectl("-n", "a", "wait", "--for=condition=Ready", "pod/db-0", "--timeout=60s")
    new_ip = pod_ip(app, "a", "db-0")
    wait_for(lambda: lookup(app, "db-0.db.a.svc.cluster.local") == {new_ip}, timeout=10, what="db-0's new IP")

    # ExternalName: a CNAME to its target, here a Service in another namespace
    web_ip = cluster_ip(app)
    assert lookup(app, "elsewhere.a.svc.cluster.local") == {web_ip}
    answers = fetch(app, "http://elsewhere/", 3)
    assert "FAIL" not in answers and set(answers) <= web_pods(app), answers


def test_a_new_service_answers_by_name(app: Boxk8s) -> None:
    app.kubectl("-n", "b", "expose", "deployment", "web", "--name=fresh", "--port=80", "--target-port=http")
    answers = wait_for(lambda: (a := fetch(app, "http://fresh.b/", 1)) != ["FAIL"] and a, timeout=10,
                       what="fresh.b answering")
    assert set(answers) <= web_pods(app)
