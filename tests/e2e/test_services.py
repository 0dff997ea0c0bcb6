"""Services on Docker pods with the real kubectl: endpoints, NodePorts from the host, the Ingress proxy."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.e2e.conftest import Boxk8s, wait_for

IMAGE = "boxk8s-busybox:latest"


def test_kubectl_shows_the_endpoints_of_a_service(cluster: Boxk8s) -> None:
    cluster.kubectl("run", "ep-web", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--port=8080",
                    "--labels=app=ep-web", "--", "httpd", "-f", "-p", "8080")
    cluster.kubectl("expose", "pod", "ep-web", "--port=80", "--target-port=8080", "--name=ep-web")

    def pod_ip() -> str:
        return cluster.kubectl("get", "pod", "ep-web", "-o", "jsonpath={.status.podIP}").stdout.strip()

    def ready() -> bool:
        out = cluster.kubectl("get", "pod", "ep-web", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
        return out.stdout.strip() == "True"

    wait_for(ready, timeout=60, what="pod ep-web ready")
    ip = pod_ip()
    out = wait_for(lambda: (o := cluster.kubectl("get", "endpoints", "ep-web").stdout) and f"{ip}:8080" in o and o,
                   what="endpoints with the pod")
    assert out.splitlines()[0].split() == ["NAME", "ENDPOINTS", "AGE"]

    slices = json.loads(cluster.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=ep-web",
                                        "-o", "json").stdout)["items"]
    assert len(slices) == 1, slices
    [endpoint] = slices[0]["endpoints"]
    assert endpoint["addresses"] == [ip] and endpoint["conditions"]["ready"] is True
    assert endpoint["targetRef"]["name"] == "ep-web"
    table = cluster.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=ep-web").stdout
    assert table.splitlines()[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert "IPv4" in table and "8080" in table and ip in table

    # The API server's own Service names the API server where pods reach it: the host's address on the
    # cluster network (the network's gateway), on the API's port.
    kube = cluster.kubectl("get", "endpoints", "kubernetes").stdout
    network = json.loads(subprocess.run(["docker", "network", "inspect", f"boxk8s-{cluster.cluster_name}"],
                                        capture_output=True, text=True, check=True).stdout)[0]
    gateway = network["IPAM"]["Config"][0]["Gateway"]
    assert f"{gateway}:{cluster.port}" in kube, kube

    # Deleting the pod takes it out at once (terminating pods leave Endpoints).
    cluster.kubectl("delete", "pod", "ep-web", "--wait=false")
    wait_for(lambda: ip not in cluster.kubectl("get", "endpoints", "ep-web").stdout, what="pod gone from endpoints")
    cluster.kubectl("delete", "service", "ep-web")
    wait_for(lambda: cluster.kubectl("get", "endpoints", "ep-web", check=False).returncode != 0,
             what="endpoints deleted with the service")


def test_a_node_port_service_answers_on_the_host(cluster: Boxk8s) -> None:
    cluster.kubectl("run", "np-web", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--port=8080",
                    "--labels=app=np-web", "--", "sh", "-c",
                    "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www")
    cluster.kubectl("expose", "pod", "np-web", "--type=NodePort", "--port=80", "--target-port=8080", "--name=np-web")
    node_port = int(cluster.kubectl("get", "service", "np-web", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout)

    def answer() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node_port}/", timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return ""

    assert "hello-from-pod" in wait_for(answer, timeout=60, what="the pod through its NodePort")
    cluster.kubectl("delete", "service", "np-web")
    wait_for(lambda: not _port_open(node_port), what="the node port closed with its service")
    cluster.kubectl("delete", "pod", "np-web", "--wait=false")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_an_ingress_reaches_a_pod_from_the_host(cluster: Boxk8s) -> None:
    classes = cluster.kubectl("get", "ingressclass").stdout
    assert "boxk8s" in classes and "boxk8s.io/ingress" in classes, classes
    cluster.kubectl("run", "in-web", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--port=8080",
                    "--labels=app=in-web", "--", "sh", "-c",
                    "mkdir -p /www/app && echo hello-through-ingress > /www/app/index.html && exec httpd -f -p 8080 -h /www")
    cluster.kubectl("expose", "pod", "in-web", "--port=80", "--target-port=8080", "--name=in-web")
    cluster.kubectl("create", "ingress", "in-web", "--rule=in-web.localhost/app*=in-web:80")

    def fetch(host: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{cluster.ingress_port}{path}", headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    assert "hello-through-ingress" in wait_for(lambda: (r := fetch("in-web.localhost", "/app/"))[0] == 200 and r[1],
                                               timeout=60, what="the pod through the Ingress")
    assert fetch("other.localhost", "/app/")[0] == 404  # no rule for that host
    address = wait_for(lambda: cluster.kubectl("get", "ingress", "in-web", "-o",
                                               "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout.strip(),
                       what="the Ingress address")
    assert address == "127.0.0.1"
    cluster.kubectl("delete", "ingress", "in-web")
    cluster.kubectl("delete", "service", "in-web")
    cluster.kubectl("delete", "pod", "in-web", "--wait=false")


def test_kubectl_port_forward_to_a_pod_and_a_service(cluster: Boxk8s) -> None:
    cluster.kubectl("run", "pf-web", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--port=8080",
                    "--labels=app=pf-web", "--", "sh", "-c",
                    "mkdir -p /www && echo hello-forwarded > /www/index.html && exec httpd -f -p 8080 -h /www")
    cluster.kubectl("expose", "pod", "pf-web", "--port=80", "--target-port=8080", "--name=pf-web")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/pf-web", "--timeout=60s")
    # kubectl 1.32's default (SPDY tunnelled in a WebSocket), then its plain SPDY/3.1 upgrade (its
    # fallback, and what kubectl before 1.30 speaks).
    plain_spdy = {**os.environ, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}
    for target, remote, env in (("pod/pf-web", "8080", None), ("svc/pf-web", "80", None),
                                ("pod/pf-web", "8080", plain_spdy)):
        local = _free_port()
        forward = subprocess.Popen(
            ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cluster.cache_dir), "-v=6",
             "port-forward", target, f"{local}:{remote}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env)
        try:
            def fetch(local: int = local) -> str:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=5) as resp:
                        return resp.read().decode()
                except OSError:
                    return ""

            assert "hello-forwarded" in wait_for(fetch, timeout=30, what=f"port-forward {target}")
            assert all("hello-forwarded" in fetch() for _ in range(5))  # one stream pair per connection
        finally:
            forward.terminate()
            output, _ = forward.communicate(timeout=10)
        # kubectl -v=6 logs the upgrade it made: no WebSocket at all in the plain case
        assert ("Upgrade: websocket" not in output and "101" in output) if env else True, output
    # Nothing listens on the port: kubectl prints the kubelet's wording.
    local = _free_port()
    result = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cluster.cache_dir),
         "port-forward", "pod/pf-web", f"{local}:9999"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: _port_open(local), what="the local side of the forward")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=5)
        output, _ = result.communicate(timeout=30)
    finally:
        if result.poll() is None:
            result.kill()
    assert "error forwarding port 9999 to pod pf-web" in output, output
    cluster.kubectl("delete", "service", "pf-web")
    cluster.kubectl("delete", "pod", "pf-web", "--wait=false")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_python_clients_port_forward(cluster: Boxk8s) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    cluster.kubectl("run", "pf-py", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent", "--port=8080", "--",
                    "sh", "-c", "mkdir -p /www && echo hello-python > /www/index.html && exec httpd -f -p 8080 -h /www")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/pf-py", "--timeout=60s")
    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    forward = portforward(api.connect_get_namespaced_pod_portforward, "pf-py", "default", ports="8080")
    try:
        sock = forward.socket(8080)
        sock.setblocking(True)
        sock.settimeout(10)
        sock.sendall(b"GET / HTTP/1.0\r\nHost: pf-py\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the channel once the pod closes the connection
            answer += chunk
        assert answer.startswith(b"HTTP/1.") and answer.endswith(b"hello-python\n"), answer
        assert forward.error(8080) is None
    finally:
        forward.close()
    cluster.kubectl("delete", "pod", "pf-py", "--wait=false")


def _read_until(proc: subprocess.Popen[str], wanted: list[str], timeout: float = 30) -> str:
    """kubectl's output until every wanted line has appeared (then it is stopped: attach does not end
    while the container runs)."""
    seen = ""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    try:
        while time.monotonic() < deadline and not all(w in seen for w in wanted):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                seen += chunk.decode(errors="replace")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    return seen


def test_kubectl_attach_shows_output_and_takes_stdin(cluster: Boxk8s) -> None:
    cluster.kubectl("apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: att-echo}}
spec:
  containers:
  - name: main
    image: {IMAGE}
    imagePullPolicy: IfNotPresent
    stdin: true
    command: ["sh", "-c", "echo started; while read line; do echo got:$line; done"]
""")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/att-echo", "--timeout=60s")
    base = ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cluster.cache_dir)]
    attach = subprocess.Popen([*base, "attach", "-i", "att-echo"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert attach.stdin is not None
    attach.stdin.write("hello\nworld\n")
    attach.stdin.flush()
    seen = _read_until(attach, ["got:hello", "got:world"])
    assert "got:hello" in seen and "got:world" in seen, seen
    cluster.kubectl("delete", "pod", "att-echo", "--wait=false")
