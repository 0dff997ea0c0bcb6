"""When is a started cluster ready? The seam `boxk8s up` calls once the cluster is up.

`check(cluster, ready)` returns (ok, text). `boxk8s up` calls it as soon as the API listens
(Cluster.run's on_ready), prints the text in the foreground, and writes both into the state
folder's `ready.json` (instance.write_ready), which `boxk8s up -d` waits for: so a background
cluster reports its own readiness, and `up -d` says what it says.

Today it is the cluster's own readiness: its API answers `/readyz` over HTTPS with its CA. A
richer check (`up --wait [--timeout]`: the workloads of the manifests Ready) replaces `check` here
and receives the options it needs; `cluster.components` gives it the informers to look at, and
both `up` and `up -d` report whatever it returns, with no other change.
"""

from __future__ import annotations

import asyncio

import aiohttp

from boxk8s.cluster.cluster import Cluster, Ready

API_SECONDS = 10.0


async def check(cluster: Cluster, ready: Ready) -> tuple[bool, str]:
    """(ok, text): whether the cluster is ready, in a line for the user."""
    return await api_answers(cluster, ready)


async def api_answers(cluster: Cluster, ready: Ready, timeout: float = API_SECONDS) -> tuple[bool, str]:
    credentials = cluster.components.credentials if cluster.components else None
    if credentials is None:
        return False, "the cluster serves no API"
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session, session.get(
                f"{ready.server}/readyz", ssl=credentials.client_ssl_context(),
                headers={"Authorization": f"Bearer {credentials.token}"}) as resp:
            body = (await resp.text()).strip()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return False, f"the API at {ready.server} does not answer: {exc or type(exc).__name__}"
    if resp.status != 200:
        return False, f"the API at {ready.server} is not ready: {resp.status} {body[:200]}"
    return True, f"the API answers at {ready.server}"
