"""An in-process API with the CRD controller (and the namespace controller) over plain HTTP, open
to clients without credentials (as kubectl over HTTP sends none), and CRDs to install."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from boxk8s.api.app import ApiSettings, build_app
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.controllers.crd import CRDController
from boxk8s.controllers.namespace import NamespaceController
from tests.integration.conftest import Api
from tests.integration.waiting import wait_for_condition

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
DEADLINE = 10.0


@dataclass
class CrdEnv:
    api: Api
    server: str  # http://127.0.0.1:PORT
    kubeconfig: Path
    cache: Path

    async def kubectl(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                      timeout: float = 30) -> tuple[int, str, str]:
        """The real kubectl, default flags, its own kubeconfig and cache dir: (code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig), **(env or {})})
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def ok(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        code, out, err = await self.kubectl(*args, stdin=stdin, env=env)
        assert code == 0, f"kubectl {' '.join(args)} failed ({code}):\n{out}\n{err}"
        return out


def _kubeconfig(path: Path, server: str) -> None:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c\n  cluster:\n    server: {server}\n"
        "users:\n- name: u\n  user: {}\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n"
        "current-context: c\n")


@contextlib.asynccontextmanager
async def crd_env(tmp: Path, controllers: list[Any] | None = None) -> AsyncIterator[CrdEnv]:
    settings = ClusterSettings(state_dir=tmp / "state")
    makers = [CRDController, NamespaceController] if controllers is None else controllers
    async with running(settings, controllers=makers, nodes=[], scheduler=False, serve_api=False, proxy=False) as c:
        app = build_app(c.resources, ApiSettings(token=""))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            server = f"http://127.0.0.1:{client.port}"
            kubeconfig = tmp / "kubeconfig"
            _kubeconfig(kubeconfig, server)
            cache = tmp / "kubectl-cache"
            cache.mkdir(exist_ok=True)
            yield CrdEnv(Api(client, c.store, c.resources), server, kubeconfig, cache)


WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Widget is a thing with replicas.",
    "properties": {
        "spec": {
            "type": "object",
            "description": "What the widget should be.",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "pattern": "^[a-z0-9.:/-]+$", "description": "The image to run."},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "size": {"type": "string", "enum": ["small", "large"], "default": "small"},
                "port": {"x-kubernetes-int-or-string": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "selector": {"type": "string"},
            },
        },
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}, "phase": {"type": "string"},
                                                    "selector": {"type": "string"}}},
    },
}


def widget_crd(*, versions: list[dict[str, Any]] | None = None, scope: str = "Namespaced",
               categories: list[str] | None = None, columns: bool = True) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1", "served": True, "storage": True,
        "schema": {"openAPIV3Schema": copy.deepcopy(WIDGET_SCHEMA)},
        "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                 "statusReplicasPath": ".status.replicas",
                                                 "labelSelectorPath": ".status.selector"}},
    }
    if columns:
        version["additionalPrinterColumns"] = [
            {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Size", "type": "string", "jsonPath": ".spec.size", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ]
    names: dict[str, Any] = {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]}
    if categories:
        names["categories"] = categories
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": scope, "names": names, "versions": versions or [version]},
    }


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"image": "nginx", **spec}}


async def install(api: Api, crd: dict[str, Any], probe: str = "/apis/example.com/v1") -> dict[str, Any]:
    """Create a CRD and wait until its group-version is served."""
    created = await api.ok("POST", CRDS, body=crd)

    async def served() -> bool:
        code, _, _ = await api.get(probe)
        return code == 200
    await wait_for_condition(served, DEADLINE)
    return created
