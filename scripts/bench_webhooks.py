#!/usr/bin/env python3
"""Benchmark what admission webhooks add to a write: ConfigMap creates through the resource layer
(in-process, no HTTP in front) one after another, with no webhook configuration, with one whose
rules do not match, with a validating webhook and with a mutating one (a JSON patch adding a
label). The webhook is a small aiohttp HTTPS server in a separate process on 127.0.0.1 (clientConfig.url,
a caBundle from a CA made here). Prints the median and p90 latency of a create in each case.

Usage: python3 scripts/bench_webhooks.py            # about 15 s on 2 cores
       python3 scripts/bench_webhooks.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from boxk8s.cluster import running  # noqa: E402
from boxk8s.config import ClusterSettings  # noqa: E402
from boxk8s.resources import registry  # noqa: E402
from boxk8s.tls import ensure_credentials, issue_certificate  # noqa: E402

SERVER = r'''
import base64, json, ssl, sys
from aiohttp import web
PATCH = base64.b64encode(json.dumps([{"op": "add", "path": "/metadata/labels", "value": {"by": "webhook"}}]).encode()).decode()
async def handle(request):
    review = await request.json()
    response = {"uid": review["request"]["uid"], "allowed": True}
    if request.path == "/mutate":
        response.update(patchType="JSONPatch", patch=PATCH)
    return web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
app = web.Application()
app.router.add_post("/{tail:.*}", handle)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), ssl_context=ctx, print=None)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configuration(kind: str, url: str, ca_bundle: str, resources: str = "configmaps") -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": "bench"},
            "webhooks": [{"name": "bench.boxk8s.dev", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                          "clientConfig": {"url": url, "caBundle": ca_bundle},
                          "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                     "resources": [resources]}]}]}


async def measure(resources: Any, label: str, n: int) -> tuple[list[float], float]:
    cm = registry.find("", "v1", "configmaps")
    times = []
    cpu = time.process_time()
    for i in range(n):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{label}-{i}"}, "data": {"k": "v" * 64}}
        t0 = time.perf_counter()
        await resources.create(cm, "default", body)
        times.append(time.perf_counter() - t0)
    return times, (time.process_time() - cpu) / n


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        creds = ensure_credentials(work / "pki")
        cert, key = issue_certificate(work / "pki", ["127.0.0.1"], "webhook")
        (work / "w.crt").write_bytes(cert)
        (work / "w.key").write_bytes(key)
        ca_bundle = base64.b64encode(creds.ca_pem).decode()
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(work / "w.crt"), str(work / "w.key")])
        try:
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                await asyncio.sleep(0.05)
            settings = ClusterSettings(state_dir=work / "state")
            async with running(settings, controllers=[], nodes=[], scheduler=False, serve_api=False, proxy=False) as c:
                r = c.resources
                vwc = registry.find("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations")
                mwc = registry.find("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations")
                url = f"https://127.0.0.1:{port}"
                results: dict[str, tuple[list[float], float]] = {}
                await measure(r, "warm", 20)
                results["no configuration"] = await measure(r, "none", n)
                await r.create(vwc, None, configuration("ValidatingWebhookConfiguration", url + "/v", ca_bundle,
                                                        "secrets"))
                results["a configuration, rules not matching"] = await measure(r, "other", n)
                await r.delete(vwc, None, "bench")
                await r.create(vwc, None, configuration("ValidatingWebhookConfiguration", url + "/v", ca_bundle))
                results["one validating webhook"] = await measure(r, "validated", n)
                await r.delete(vwc, None, "bench")
                await r.create(mwc, None, configuration("MutatingWebhookConfiguration", url + "/mutate", ca_bundle))
                results["one mutating webhook (JSON patch)"] = await measure(r, "mutated", n)
        finally:
            server.terminate()
            server.wait()
    print(f"{time.strftime('%Y-%m-%d')} · {platform.machine()} · {n} sequential ConfigMap creates per case")
    for label, (times, cpu) in results.items():
        q = statistics.quantiles(times, n=10)
        print(f"  {label:40s} p50 {statistics.median(times) * 1000:6.2f} ms   p90 {q[8] * 1000:6.2f} ms"
              f"   CPU {cpu * 1e6:5.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(50 if args.quick else 300))
