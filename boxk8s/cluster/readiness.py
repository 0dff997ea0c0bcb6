"""When is a started cluster ready? The seam `boxk8s up` calls once the cluster is up.

`check(cluster, ready)` returns (ok, text). `boxk8s up` calls it as soon as the API listens
(Cluster.run's on_ready), prints the text in the foreground, and writes both into the state
folder's `ready.json` (instance.write_ready), which `boxk8s up -d` waits for: so a background
cluster reports its own readiness, and `up -d` says what it says.

The cluster's own readiness first: its API answers `/readyz` over HTTPS with its CA. With
`up --wait` (settings.wait_seconds), then the app's: the dev loop's first pass applied every
manifest (a broken file fails the wait with its file:line), and every workload it applied became
ready (devloop/wait.py, over the shared informers), or a pod showed it cannot.
"""

from __future__ import annotations

import asyncio

import aiohttp

from boxk8s.cluster.cluster import Cluster, Ready

API_SECONDS = 10.0
READYZ_POLL = 0.05


async def check(cluster: Cluster, ready: Ready) -> tuple[bool, str]:
    """(ok, text): whether the cluster (and with --wait, the app) is ready, for the user."""
    ok, text = await api_answers(cluster, ready)
    if not ok or not cluster.settings.wait_seconds:
        return ok, text
    return await app_ready(cluster, cluster.settings.wait_seconds)


async def app_ready(cluster: Cluster, timeout: float) -> tuple[bool, str]:
    c = cluster.components
    if c is None:
        return False, "the cluster is not assembled"
    loop = c.devloop
    if loop is not None:
        try:
            async with asyncio.timeout(timeout):
                await loop.applied.wait()
        except TimeoutError:
            return False, f"the manifests were not applied within {timeout:g}s"
        report = loop.last_report
        if report is not None and not report.ok:
            return False, "the manifests do not apply:\n  " + "\n  ".join(report.lines())
    if c.waiter is None:
        return False, "the cluster was assembled without --wait"
    result = await c.waiter.wait(timeout)
    return result.ok, result.text


async def api_answers(cluster: Cluster, ready: Ready, timeout: float = API_SECONDS) -> tuple[bool, str]:
    """Whether `/readyz` passes within `timeout`. It fails (500) until the checks pass, e.g. while the
    shared informers list (informer-sync): it is asked again, every READYZ_POLL seconds."""
    credentials = cluster.components.credentials if cluster.components else None
    if credentials is None:
        return False, "the cluster serves no API"
    status, body = 0, ""
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"{ready.server}/readyz?verbose", ssl=credentials.client_ssl_context(),
                                       headers={"Authorization": f"Bearer {credentials.token}"}) as resp:
                    status, body = resp.status, (await resp.text()).strip()
                if status != 500:
                    break
                await asyncio.sleep(READYZ_POLL)
    except TimeoutError as exc:
        if status:
            return False, f"the API at {ready.server} is not ready: {status} {body[:400]}"
        return False, f"the API at {ready.server} does not answer: {exc or type(exc).__name__}"
    except (aiohttp.ClientError, OSError) as exc:
        return False, f"the API at {ready.server} does not answer: {exc or type(exc).__name__}"
    if status != 200:
        return False, f"the API at {ready.server} is not ready: {status} {body[:400]}"
    return True, f"the API answers at {ready.server}"
