"""`boxk8s logs WORKLOAD [-f]`: the logs of every pod of a workload, each line marked with its pod.

The pods are those the workload's selector matches. With `-f` it follows each of them and watches
the pods by that selector, so a pod that appears later (a scale-up, a rollout, a restarted
container) gets its own stream as soon as its container has started. Every stream is a task of
one TaskGroup; the output is written whole lines at a time from the one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO

import aiohttp

from boxk8s.remote.client import Access, RemoteError, status_message
from boxk8s.remote.workloads import POD, Kind, log_prefix, selector_string, started_containers


class Logs:
    def __init__(self, access: Access, namespace: str, kind: Kind, name: str, *, follow: bool = False,
                 since_seconds: int | None = None, tail: int | None = None,
                 out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.access = access
        self.namespace = namespace
        self.kind = kind
        self.name = name
        self.follow = follow
        self.since_seconds = since_seconds
        self.tail = tail
        self.out = out
        self.err = err
        self._streamed: set[tuple[str, str, int]] = set()  # (pod uid, container, restart count)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self.access.ssl_context(), limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(connector=connector, headers=self.access.headers,
                                         timeout=timeout) as self._session:
            query = await self._pod_query()
            pods = await self._get(POD.path(self.namespace), query)
            items = sorted(pods.get("items") or [], key=lambda p: p["metadata"]["name"])
            if not items and not self.follow:
                self.err.write(f"no pods for {self.kind.short}/{self.name} in namespace {self.namespace}\n")
                return
            if not self.follow:
                for pod in items:
                    for container, restarts in started_containers(pod):
                        await self._stream(pod, container, restarts, initial=True)
                return
            async with asyncio.TaskGroup() as tg:
                for pod in items:
                    self._start_streams(tg, pod, initial=True)
                await self._watch(tg, query, str(pods["metadata"].get("resourceVersion", "")))

    async def _pod_query(self) -> dict[str, str]:
        if self.kind is POD:
            return {"fieldSelector": f"metadata.name={self.name}"}
        workload = await self._get(self.kind.path(self.namespace, self.name))
        selector = selector_string((workload.get("spec") or {}).get("selector"))
        if not selector:
            raise RemoteError(f"{self.kind.short}/{self.name} has no selector")
        return {"labelSelector": selector}

    def _start_streams(self, tg: asyncio.TaskGroup, pod: dict[str, Any], initial: bool) -> None:
        uid = str(pod["metadata"].get("uid", ""))
        for container, restarts in started_containers(pod):
            key = (uid, container, restarts)
            if key not in self._streamed:
                self._streamed.add(key)
                tg.create_task(self._stream(pod, container, restarts, initial),
                               name=f"logs-{pod['metadata']['name']}-{container}")

    async def _watch(self, tg: asyncio.TaskGroup, query: dict[str, str], rv: str) -> None:
        """Watch the pods from `rv`; again from where it ended when the server closes it; after a
        list when the server says the revision is gone (410)."""
        while True:
            params = {**query, "watch": "true", "allowWatchBookmarks": "true", "resourceVersion": rv}
            async with contextlib.aclosing(self._lines(POD.path(self.namespace), params)) as events:
                async for line in events:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":  # 410 Expired: our revision was compacted away
                        rv = ""
                        break
                    rv = str((obj.get("metadata") or {}).get("resourceVersion", rv))
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        self._start_streams(tg, obj, initial=False)
            if not rv:
                pods = await self._get(POD.path(self.namespace), query)
                for pod in pods.get("items") or []:
                    self._start_streams(tg, pod, initial=False)
                rv = str(pods["metadata"].get("resourceVersion", ""))

    async def _stream(self, pod: dict[str, Any], container: str, restarts: int, initial: bool) -> None:
        """One container's log, each line with the pod's prefix. A pod that appears while we follow
        is read from its first line; the ones there at the start from --since/--tail."""
        name = pod["metadata"]["name"]
        params: dict[str, str] = {"container": container}
        if self.follow:
            params["follow"] = "true"
        if initial and self.since_seconds is not None:
            params["sinceSeconds"] = str(max(int(self.since_seconds), 1))
        if initial and self.tail is not None:
            params["tailLines"] = str(self.tail)
        prefix = log_prefix(pod, container)
        try:
            async for line in self._lines(POD.path(self.namespace, name) + "/log", params):
                self.out.write(f"{prefix} {line.decode(errors='replace')}\n")
                self.out.flush()
        except RemoteError as exc:
            if exc.code != 404:  # a pod deleted under us has no more to say
                self.err.write(f"{prefix} (no log: {exc})\n")

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        async with self.session.get(self.access.url(path), params=params) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RemoteError(status_message(body, resp.status), resp.status)
            return dict(json.loads(body))

    async def _lines(self, path: str, params: dict[str, str]) -> AsyncIterator[bytes]:
        try:
            async with self.session.get(self.access.url(path), params=params) as resp:
                if resp.status != 200:
                    raise RemoteError(status_message(await resp.read(), resp.status), resp.status)
                while line := await resp.content.readline():
                    yield line.rstrip(b"\r\n")
        except aiohttp.ClientError as exc:
            raise RemoteError(f"cannot reach the cluster at {self.access.server}: {exc}") from exc


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    inner = group.exceptions[0]
    return _first(inner) if isinstance(inner, BaseExceptionGroup) else inner


def show_logs(access: Access, namespace: str, kind: Kind, name: str, **options: Any) -> None:
    """Print the logs (until Ctrl-C with follow=True); RemoteError when the cluster says no."""
    try:
        asyncio.run(Logs(access, namespace, kind, name, **options).run())
    except BaseExceptionGroup as group:  # from the TaskGroup of streams: say the first reason
        raise _first(group) from None
