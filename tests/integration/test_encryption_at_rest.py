"""Secrets encrypted at rest, driven by the real kubectl as on Kubernetes
(https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/): the database file holds no
Secret value, kubectl reads them decrypted, a key is rotated by adding the new key first,
rewriting every Secret (`kubectl get secrets -A -o json | kubectl replace -f -`) and dropping the
old key; a Secret no configured key can read is a 500 InternalError, as the apiserver answers."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from boxk8s.client import Client
from boxk8s.resources import registry
from tests.integration.conftest import Api, running_api, watch_lines
from tests.integration.kubectl import needs_kubectl, run_kubectl

PLAIN = "hunter2-correct-horse-battery"  # what the user types
ENCODED = base64.b64encode(PLAIN.encode()).decode()  # what a Secret's data holds
NAMESPACES = ("default", "team-a")


def key(seed: str) -> str:
    return base64.b64encode(seed.encode().ljust(32, b".")).decode()


def config(path: Path, *providers: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": list(providers)}]}))
    return path


def aesgcm(*names: str) -> dict[str, Any]:
    return {"aesgcm": {"keys": [{"name": n, "secret": key(n)} for n in names]}}


def secret_rows(state: Path) -> dict[str, bytes | str]:
    """The newest row of every Secret, as the file holds it."""
    with sqlite3.connect(state / "state.db") as db:
        return dict(db.execute(
            "SELECT name, value FROM kine WHERE id IN (SELECT MAX(id) FROM kine GROUP BY name) "
            "AND name LIKE '/registry/core/secrets/%' AND deleted = 0").fetchall())


def secret_history(state: Path) -> list[bytes | str]:
    """Every row of every Secret: history included."""
    with sqlite3.connect(state / "state.db") as db:
        return [v for (v,) in db.execute("SELECT value FROM kine WHERE name LIKE '/registry/core/secrets/%'")]


def file_bytes(state: Path) -> bytes:
    """The database as it is on disk: the file, its write-ahead log and shared memory."""
    return b"".join(p.read_bytes() for p in state.iterdir() if p.name.startswith("state.db"))


class Kubectl:
    def __init__(self, api: Api, cache: Path) -> None:
        self.server = str(api.client.make_url("")).rstrip("/")
        self.cache = cache

    async def __call__(self, *args: str, stdin: bytes | None = None, ok: bool = True) -> tuple[int, str, str]:
        rc, out, err = await run_kubectl(self.server, self.cache, *args, stdin=stdin)
        if ok:
            assert rc == 0, (args, out, err)
        return rc, out, err

    async def password(self, namespace: str, name: str = "db") -> str:
        _, out, _ = await self("get", "secret", name, "-n", namespace, "-o", "jsonpath={.data.password}")
        return base64.b64decode(out).decode()

    async def replace_all(self) -> None:
        _, listed, _ = await self("get", "secrets", "-A", "-o", "json")
        await self("replace", "-f", "-", stdin=listed.encode())

    async def versions(self) -> dict[str, str]:
        _, out, _ = await self("get", "secrets", "-A", "-o", "json")
        return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i["metadata"]["resourceVersion"]
                for i in json.loads(out)["items"]}


@needs_kubectl
async def test_secrets_at_rest_and_key_rotation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    state = tmp_path / "state"
    first = config(tmp_path / "first.yaml", aesgcm("key1"), {"identity": {}})

    async with running_api(state, token="", encryption=first) as api:
        kubectl = Kubectl(api, tmp_path / "cache")
        await kubectl("create", "namespace", "team-a")
        for ns in NAMESPACES:
            await kubectl("create", "secret", "generic", "db", "-n", ns, f"--from-literal=password={PLAIN}")
        assert [await kubectl.password(ns) for ns in NAMESPACES] == [PLAIN, PLAIN]
        await kubectl.replace_all()  # kubectl-replace now owns fields: a second replace is a no-op
        before = await kubectl.versions()
        await kubectl.replace_all()
        assert await kubectl.versions() == before
    disk = file_bytes(state)
    assert PLAIN.encode() not in disk and ENCODED.encode() not in disk
    rows = secret_rows(state)
    assert len(rows) == 2 and all(bytes(v).startswith(b"k8s:enc:aesgcm:v1:key1:") for v in rows.values())

    # Rotation, step 1: the new key first, the old one still there to read with.
    rotating = config(tmp_path / "rotating.yaml", aesgcm("key2", "key1"), {"identity": {}})
    async with running_api(state, token="", encryption=rotating) as api:
        kubectl = Kubectl(api, tmp_path / "cache")
        assert [await kubectl.password(ns) for ns in NAMESPACES] == [PLAIN, PLAIN]
        before = await kubectl.versions()
        await kubectl.replace_all()  # unchanged, yet rewritten: the rows were read with an older key
        after = await kubectl.versions()
        assert after.keys() == before.keys() and all(after[k] != before[k] for k in before)
        assert all(bytes(v).startswith(b"k8s:enc:aesgcm:v1:key2:") for v in secret_rows(state).values())
        # Earlier revisions (history for watches) keep the old key until compaction removes them.
        assert any(bytes(v).startswith(b"k8s:enc:aesgcm:v1:key1:") for v in secret_history(state))
        await api.store.compact(api.store.current_revision)
        assert all(bytes(v).startswith(b"k8s:enc:aesgcm:v1:key2:") for v in secret_history(state))

    # Step 2: the old key dropped.
    rotated = config(tmp_path / "rotated.yaml", aesgcm("key2"))
    async with running_api(state, token="", encryption=rotated) as api:
        kubectl = Kubectl(api, tmp_path / "cache")
        assert [await kubectl.password(ns) for ns in NAMESPACES] == [PLAIN, PLAIN]
        _, out, _ = await kubectl("get", "secrets", "-A")
        assert out.count(" db ") == 2
        await kubectl("create", "secret", "generic", "late", f"--from-literal=password={PLAIN}")
        assert await kubectl.password("default", "late") == PLAIN
    disk = file_bytes(state)
    assert PLAIN.encode() not in disk and ENCODED.encode() not in disk

    # Secret values never reach an Event, nor the log at any level.
    async with running_api(state, token="", encryption=rotated) as api:
        _, events, _ = await Kubectl(api, tmp_path / "cache")("get", "events", "-A", "-o", "json")
        assert PLAIN not in events and ENCODED not in events
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert logged and PLAIN not in logged and ENCODED not in logged


@needs_kubectl
@pytest.mark.parametrize("providers, reason", [
    ([aesgcm("other")], "no matching key was found for the provided AES transformer"),
    ([{"aescbc": {"keys": [{"name": "key1", "secret": key("key1")}]}}], "no matching prefix found"),
    ([{"identity": {}}], "no matching prefix found"),
])
async def test_a_secret_no_key_reads_is_an_internal_error(tmp_path: Path, providers: list[dict[str, Any]],
                                                          reason: str) -> None:
    state = tmp_path / "state"
    async with running_api(state, token="", encryption=config(tmp_path / "first.yaml", aesgcm("key1"))) as api:
        await Kubectl(api, tmp_path / "cache")("create", "secret", "generic", "db", f"--from-literal=password={PLAIN}")

    async with running_api(state, token="", encryption=config(tmp_path / "wrong.yaml", *providers)) as api:
        kubectl = Kubectl(api, tmp_path / "cache")
        rc, _, err = await kubectl("get", "secret", "db", ok=False)
        assert rc == 1 and err.strip() == f"Error from server (InternalError): Internal error occurred: {reason}"
        code, body, _ = await api.get("/api/v1/namespaces/default/secrets/db")
        assert code == 500 and body["reason"] == "InternalError" and body["code"] == 500
        assert body["details"] == {"causes": [{"message": reason}]}
        code, body, _ = await api.get("/api/v1/namespaces/default/secrets")
        assert code == 500 and body["message"] == (
            f'Internal error occurred: unable to transform key "/registry/core/secrets/default/db": {reason}')
        # The rest of the cluster goes on: other kinds, and a new Secret with the configured provider.
        await kubectl("create", "configmap", "still-here", "--from-literal=k=v")
        await kubectl("create", "secret", "generic", "new", "--from-literal=k=v")
        _, out, _ = await kubectl("get", "secret", "new", "-o", "jsonpath={.data.k}")
        assert out == base64.b64encode(b"v").decode()
        # A watch replaying history through that row ends with the error, as an ERROR event.
        code, events = await watch_lines(api, "/api/v1/namespaces/default/secrets", {"resourceVersion": "1"})
        assert code == 200 and events[-1]["type"] == "ERROR", events
        assert events[-1]["object"]["code"] == 500 and reason in events[-1]["object"]["message"]
        # The cluster's own informers list what they can read, so its controllers still start.
        secrets = registry.find("", "v1", "secrets")
        assert secrets is not None
        items, _ = await Client(api.resources, "test").list_with_revision(secrets)
        assert [i["metadata"]["name"] for i in items] == ["new"]
