"""The real kubectl (v1.32, default flags, its own kubeconfig and cache) on custom resources:
apply, get (columns, -w), explain, diff, edit, scale, delete, categories, and the errors it shows."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.integration.crd_fixtures import WIDGETS, CrdEnv, crd_env, widget, widget_crd
from tests.integration.waiting import wait_for_condition

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def dump(*objs: object) -> str:
    return yaml.safe_dump_all(objs)


@pytest.fixture
async def installed(tmp_path: Path) -> AsyncIterator[CrdEnv]:
    """A cluster where the CRD was applied with kubectl, and waited for as a user would."""
    async with crd_env(tmp_path) as env:
        out = await env.ok("apply", "-f", "-", stdin=dump(widget_crd(categories=["all"])))
        assert out.strip() == "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
        await env.ok("wait", "--for", "condition=Established", "crd/widgets.example.com", "--timeout", "10s")
        yield env


async def test_apply_get_describe_and_delete(installed: CrdEnv) -> None:
    env = installed
    out = await env.ok("apply", "-f", "-", stdin=dump(widget("web", replicas=2)))
    assert out.strip() == "widget.example.com/web created"
    out = await env.ok("apply", "-f", "-", stdin=dump(widget("web", replicas=2)))
    assert out.strip() == "widget.example.com/web unchanged"
    out = await env.ok("apply", "-f", "-", stdin=dump(widget("web", replicas=3)))
    assert out.strip() == "widget.example.com/web configured"
    table = (await env.ok("get", "widgets")).splitlines()
    assert table[0].split() == ["NAME", "IMAGE", "REPLICAS", "PHASE", "AGE"]
    assert table[1].split()[:3] == ["web", "nginx", "3"] and len(table[1].split()) == 4  # no phase yet: blank
    wide = (await env.ok("get", "wd", "-o", "wide")).splitlines()  # the short name; priority-1 columns
    assert wide[0].split() == ["NAME", "IMAGE", "REPLICAS", "PHASE", "SIZE", "AGE"]
    got = json.loads(await env.ok("get", "widget.example.com/web", "-o", "json"))
    assert got["spec"] == {"image": "nginx", "replicas": 3, "size": "small"}
    out = await env.ok("delete", "widget", "web")
    assert out.strip() == 'widget.example.com "web" deleted'
    code, _, err = await env.kubectl("get", "widget", "web")
    assert code == 1 and 'widgets.example.com "web" not found' in err


async def test_apply_refuses_invalid_and_unknown_fields_as_the_apiserver_does(installed: CrdEnv) -> None:
    code, _, err = await installed.kubectl("apply", "-f", "-", stdin=dump(widget("bad", replicas=20)))
    assert code == 1
    assert ('The Widget "bad" is invalid: spec.replicas: Invalid value: 20: spec.replicas in body should be '
            "less than or equal to 10") in err
    # kubectl trusts the server to validate (fieldValidation=Strict): an unknown field is an error, as upstream
    code, _, err = await installed.kubectl("apply", "-f", "-", stdin=dump(widget("typo", imagee="x")))
    assert code == 1
    assert 'strict decoding error: unknown field "spec.imagee"' in err


async def test_explain_describes_the_schema(installed: CrdEnv) -> None:
    out = await installed.ok("explain", "widgets.spec")
    assert "GROUP:      example.com\nKIND:       Widget\nVERSION:    v1" in out
    assert "What the widget should be." in out
    assert "image\t<string> -required-" in out and "The image to run." in out
    out = await installed.ok("explain", "widgets")
    assert "A Widget is a thing with replicas." in out


async def test_get_watch_streams_changes(installed: CrdEnv) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(env.kubeconfig), "--cache-dir", str(env.cache), "get", "widgets", "-w",
        "--output-watch-events", "-o", "custom-columns=EVENT:.type,NAME:.object.metadata.name,"
        "REPLICAS:.object.spec.replicas", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "KUBECONFIG": str(env.kubeconfig)})
    assert proc.stdout is not None
    try:
        lines: list[list[str]] = []

        async def read_until(want: list[str]) -> None:
            while want not in lines:
                line = await asyncio.wait_for(proc.stdout.readline(), 15)  # type: ignore[union-attr]
                assert line, "kubectl get -w ended"
                lines.append(line.decode().split())
        await read_until(["ADDED", "web", "1"])
        await env.ok("scale", "widget/web", "--replicas=4")
        await read_until(["MODIFIED", "web", "4"])
    finally:
        proc.kill()
        await proc.wait()


async def test_scale_a_custom_resource(installed: CrdEnv) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    out = await env.ok("scale", "widget/web", "--replicas=3")
    assert out.strip() == "widget.example.com/web scaled"
    assert json.loads(await env.ok("get", "widget", "web", "-o", "json"))["spec"]["replicas"] == 3


async def test_diff_shows_what_apply_would_change(installed: CrdEnv) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    code, out, _ = await env.kubectl("diff", "-f", "-", stdin=dump(widget("web")))
    assert code == 0 and out == ""
    code, out, err = await env.kubectl("diff", "-f", "-", stdin=dump(widget("web", replicas=5)))
    assert code == 1, err
    assert "-  replicas: 1" in out and "+  replicas: 5" in out


async def test_edit_with_an_editor(installed: CrdEnv, tmp_path: Path) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 1/replicas: 7/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    out = await env.ok("edit", "widget", "web", env={"KUBE_EDITOR": str(editor), "EDITOR": str(editor)})
    assert out.strip() == "widget.example.com/web edited"
    assert json.loads(await env.ok("get", "widget", "web", "-o", "json"))["spec"]["replicas"] == 7


async def test_get_all_lists_custom_resources_only_in_the_category(installed: CrdEnv, tmp_path: Path) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    assert "widget.example.com/web" in await env.ok("get", "all")
    gadgets = widget_crd()
    gadgets["metadata"]["name"] = "gadgets.example.com"
    gadgets["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"}
    await env.ok("apply", "-f", "-", stdin=dump(gadgets))
    await env.ok("wait", "--for", "condition=Established", "crd/gadgets.example.com", "--timeout", "10s")
    await env.ok("apply", "-f", "-", stdin=dump({**widget("g"), "kind": "Gadget"}))
    assert "gadget" not in await env.ok("get", "all")


async def test_server_side_apply(installed: CrdEnv) -> None:
    out = await installed.ok("apply", "--server-side", "-f", "-", stdin=dump(widget("web", replicas=2)))
    assert out.strip() == "widget.example.com/web serverside-applied"
    got = await installed.api.ok("GET", f"{WIDGETS}/web")
    assert [m["manager"] for m in got["metadata"]["managedFields"]] == ["kubectl"]


async def test_a_kind_without_its_crd(tmp_path: Path) -> None:
    async with crd_env(tmp_path) as env:
        code, _, err = await env.kubectl("apply", "-f", "-", stdin=dump(widget("web")))
    assert code == 1
    assert 'no matches for kind "Widget" in version "example.com/v1"' in err
    assert "ensure CRDs are installed first" in err


async def test_delete_the_crd_with_kubectl(installed: CrdEnv) -> None:
    env = installed
    await env.ok("apply", "-f", "-", stdin=dump(widget("web")))
    out = await env.ok("delete", "crd", "widgets.example.com")
    assert out.strip() == 'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted'

    async def gone() -> bool:
        code, _, _ = await env.api.get("/apis/example.com/v1/widgets")
        return code == 404
    await wait_for_condition(gone, 10)
