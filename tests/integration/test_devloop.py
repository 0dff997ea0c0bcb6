"""The dev loop over a real folder and an in-process cluster (no nodes, no controllers): apply at
start, follow saves, prune, refuse broken files as a whole, rebuild its state after a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.cluster import running
from boxk8s.config import ClusterSettings
from boxk8s.devloop.apply import ReloadReport
from boxk8s.devloop.watch import DevLoop
from tests.integration.waiting import wait_for_condition

DEADLINE = 15.0
PART_OF = "applyset.kubernetes.io/part-of"
# KEP-3659's ID of the parent Secret boxk8s-demo in default, computed here independently.
SET_ID = "applyset-" + base64.urlsafe_b64encode(
    hashlib.sha256(b"boxk8s-demo.default.Secret.").digest()).decode().rstrip("=") + "-v1"

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  greeting: {value}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""


def configmap(name: str = "settings", value: str = "hello") -> str:
    return CONFIGMAP.format(name=name, value=value)


def deployment(name: str = "web", replicas: Any = 1) -> str:
    return DEPLOYMENT.format(name=name, replicas=replicas)


def write(path: Path, *docs: str) -> None:
    """Save as an editor would: the whole file at once (write then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("---\n".join(docs))
    tmp.replace(path)


@contextlib.asynccontextmanager
async def cluster(tmp: Path) -> AsyncIterator[Client]:
    settings = ClusterSettings(state_dir=tmp / "state", cluster_name="test", stop_timeout=DEADLINE)
    async with running(settings, controllers=[], nodes=[], scheduler=False, serve_api=False, proxy=False) as c:
        yield Client(c.resources, "boxk8s")


@contextlib.asynccontextmanager
async def devloop(client: Client, folder: Path, reports: list[ReloadReport] | None = None) -> AsyncIterator[DevLoop]:
    """A DevLoop running until the block ends, once it applied at start and watches the folder."""
    loop = DevLoop(client, [folder], project_name="demo", debounce=0.1,
                   report=(reports if reports is not None else []).append)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(loop.run(), name="devloop")
        try:
            async with asyncio.timeout(DEADLINE):
                await loop.watching.wait()
            yield loop
        finally:
            task.cancel()


async def eventually(check: Any) -> Any:
    return await wait_for_condition(check, DEADLINE)


async def get(client: Client, rt: Any, name: str, namespace: str | None = "default") -> dict[str, Any]:
    return await client.get(rt, namespace, name)


async def gone(client: Client, rt: Any, name: str, namespace: str | None = "default") -> bool:
    try:
        await client.get(rt, namespace, name)
    except errors.NotFound:
        return True
    return False


async def reported(loop: DevLoop, line: str) -> list[str]:
    """Wait for a pass whose report has `line`; the report's lines."""
    async def check() -> list[str]:
        assert loop.last_report is not None
        lines = loop.last_report.lines()
        assert line in lines, lines
        return lines
    return await eventually(check)


async def test_applies_at_start_then_follows_saves(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    app = folder / "app.yaml"
    write(app, configmap(value="hello"), deployment(replicas=1))
    reports: list[ReloadReport] = []
    async with cluster(tmp_path) as client, devloop(client, folder, reports):
        cm = await get(client, Kind.CONFIGMAP, "settings")
        deploy = await get(client, Kind.DEPLOYMENT, "web")
        assert cm["data"] == {"greeting": "hello"}
        assert deploy["spec"]["replicas"] == 1
        assert f"{app}: applied 2, pruned 0" in reports[0].lines(), reports[0].lines()
        # members: the part-of label, written by the field manager boxk8s with server-side apply
        for obj in (cm, deploy):
            assert obj["metadata"]["labels"][PART_OF] == SET_ID
            managers = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
            assert ("boxk8s", "Apply") in managers, managers
        # the parent: a Secret in default, as kubectl writes it
        parent = await get(client, Kind.SECRET, "boxk8s-demo")
        assert parent["metadata"]["labels"] == {"applyset.kubernetes.io/id": SET_ID}
        assert parent["metadata"]["annotations"] == {
            "applyset.kubernetes.io/tooling": "boxk8s/v0.1.0",
            "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Deployment.apps",
            "applyset.kubernetes.io/additional-namespaces": "",
        }
        assert {m["manager"] for m in parent["metadata"]["managedFields"]} == {"boxk8s-applyset"}

        # a save changes the replicas and the value: both follow; only what changed is sent
        cm_rv = cm["metadata"]["resourceVersion"]
        write(app, configmap(value="bonjour"), deployment(replicas=3))

        async def updated() -> bool:
            d = await get(client, Kind.DEPLOYMENT, "web")
            c = await get(client, Kind.CONFIGMAP, "settings")
            return d["spec"]["replicas"] == 3 and c["data"]["greeting"] == "bonjour"
        await eventually(updated)
        assert (await get(client, Kind.CONFIGMAP, "settings"))["metadata"]["resourceVersion"] != cm_rv

        # a save of the deployment alone leaves the config map untouched
        cm_rv = (await get(client, Kind.CONFIGMAP, "settings"))["metadata"]["resourceVersion"]
        write(app, configmap(value="bonjour"), deployment(replicas=2))
        await eventually(lambda: _replicas(client, "web", 2))
        assert (await get(client, Kind.CONFIGMAP, "settings"))["metadata"]["resourceVersion"] == cm_rv

        async def said_applied_one() -> bool:  # the pass reports once it wrote its parent too
            return any(f"{app}: applied 1, pruned 0" in r.lines() for r in reports)
        await eventually(said_applied_one)


async def _replicas(client: Client, name: str, n: int) -> bool:
    return bool((await get(client, Kind.DEPLOYMENT, name))["spec"]["replicas"] == n)


async def test_a_deleted_document_is_pruned_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "a.yaml", configmap("one"), configmap("two"))
    write(folder / "b.yaml", deployment("web"))
    async with cluster(tmp_path) as client, devloop(client, folder) as loop:
        before = {name: (await get(client, Kind.CONFIGMAP, name))["metadata"]["resourceVersion"] for name in ("one",)}
        web_rv = (await get(client, Kind.DEPLOYMENT, "web"))["metadata"]["resourceVersion"]
        write(folder / "a.yaml", configmap("one"))
        await eventually(lambda: gone(client, Kind.CONFIGMAP, "two"))
        assert (await get(client, Kind.CONFIGMAP, "one"))["metadata"]["resourceVersion"] == before["one"]
        assert (await get(client, Kind.DEPLOYMENT, "web"))["metadata"]["resourceVersion"] == web_rv
        await reported(loop, f"{folder / 'a.yaml'}: applied 0, pruned 1")  # the pass may still be writing its parent

        # a file removed: its objects go, the parent forgets their kind
        (folder / "b.yaml").unlink()
        await eventually(lambda: gone(client, Kind.DEPLOYMENT, "web"))

        async def parent_kinds() -> bool:
            parent = await get(client, Kind.SECRET, "boxk8s-demo")
            return parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == "ConfigMap"
        await eventually(parent_kinds)


async def test_a_broken_save_changes_nothing_until_fixed(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    app = folder / "app.yaml"
    write(app, configmap("one", "v1"), configmap("two"))
    async with cluster(tmp_path) as client, devloop(client, folder) as loop:
        rv = (await get(client, Kind.CONFIGMAP, "one"))["metadata"]["resourceVersion"]
        # a change to `one`, `two` removed, and an unclosed `[` on line 11: PyYAML gives up at the end
        write(app, configmap("one", "v2"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [three\n")
        await reported(loop, f"error {app}:12:1: while parsing a flow sequence (line 11, column 9): "
                             "expected ',' or ']', but got '<stream end>'")
        assert (await get(client, Kind.CONFIGMAP, "one"))["metadata"]["resourceVersion"] == rv
        assert not await gone(client, Kind.CONFIGMAP, "two")  # nothing pruned from a broken file

        write(app, configmap("one", "v2"))  # fixed: applied, and what the file no longer has is pruned
        await eventually(lambda: gone(client, Kind.CONFIGMAP, "two"))
        assert (await get(client, Kind.CONFIGMAP, "one"))["data"] == {"greeting": "v2"}


async def test_a_schema_error_names_the_field_and_applies_nothing_from_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    app, other = folder / "app.yaml", folder / "other.yaml"
    write(app, configmap("settings", "v1"), deployment("web", 1))
    write(other, configmap("elsewhere", "v1"))
    async with cluster(tmp_path) as client, devloop(client, folder) as loop:
        cm_rv = (await get(client, Kind.CONFIGMAP, "settings"))["metadata"]["resourceVersion"]
        # the config map changes too, in the same file: it must not be applied either
        write(app, configmap("settings", "v2"), deployment("web", '"x"'))
        write(other, configmap("elsewhere", "v2"))  # another file is not held back
        # the deployment starts on line 8 of the file (after the config map and `---`); replicas on line 13
        lines = await reported(loop, f"error {app}:13: spec.replicas: json: cannot unmarshal string into Go "
                                     "struct field DeploymentSpec.spec.replicas of type int32")
        assert [line for line in lines if str(app) in line] == [
            f"error {app}:13: spec.replicas: json: cannot unmarshal string into Go struct field "
            "DeploymentSpec.spec.replicas of type int32"], lines
        await eventually(lambda: _greeting(client, "elsewhere", "v2"))
        assert (await get(client, Kind.CONFIGMAP, "settings"))["metadata"]["resourceVersion"] == cm_rv
        assert await _replicas(client, "web", 1)

        # an unknown field: refused by strict field validation, named with its line
        write(app, configmap("settings", "v2"),
              deployment("web", 2).replace("  replicas: 2\n", "  replicas: 2\n  replicass: 3\n"))
        await reported(loop, f'error {app}:14: spec.replicass: unknown field "spec.replicass"')
        assert await _greeting(client, "settings", "v1")

        # an Invalid Status: the field from its causes
        write(app, configmap("settings", "v2"), deployment("web", -1))
        await reported(loop, f"error {app}:13: spec.replicas: Invalid value: -1: must be greater than or equal to 0")

        write(app, configmap("settings", "v2"), deployment("web", 4))  # fixed: all of it applied
        await eventually(lambda: _replicas(client, "web", 4))
        assert await _greeting(client, "settings", "v2")


async def _greeting(client: Client, name: str, value: str) -> bool:
    return bool((await get(client, Kind.CONFIGMAP, name))["data"]["greeting"] == value)


async def test_members_in_other_namespaces_and_cluster_scoped(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
    # the namespace is written after what goes in it: applied first all the same
    write(folder / "app.yaml", configmap("cart").replace("metadata:\n", "metadata:\n  namespace: shop\n"), ns)
    async with cluster(tmp_path) as client, devloop(client, folder):
        cm = await get(client, Kind.CONFIGMAP, "cart", "shop")
        assert cm["metadata"]["labels"][PART_OF] == SET_ID
        namespace = await get(client, Kind.NAMESPACE, "shop", None)
        assert namespace["metadata"]["labels"][PART_OF] == SET_ID
        parent = await get(client, Kind.SECRET, "boxk8s-demo")
        assert parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == "ConfigMap,Namespace"
        assert parent["metadata"]["annotations"]["applyset.kubernetes.io/additional-namespaces"] == "shop"


async def test_editor_scratch_files_and_git_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "app.yaml", configmap("real", "v1"))
    async with cluster(tmp_path) as client, devloop(client, folder):
        for name in (".app.yaml.swp", "app.yaml~", "#app.yaml#", ".#app.yaml", "4913", "app.yaml.tmp"):
            (folder / name).write_text(configmap("scratch"))
        (folder / ".git").mkdir()
        (folder / ".git" / "app.yaml").write_text(configmap("in-git"))
        write(folder / "app.yaml", configmap("real", "v2"))  # a real save after them all
        await eventually(lambda: _greeting(client, "real", "v2"))
        assert await gone(client, Kind.CONFIGMAP, "scratch")
        assert await gone(client, Kind.CONFIGMAP, "in-git")


async def test_no_manifests_then_a_folder_appears(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"  # not there
    reports: list[ReloadReport] = []
    async with cluster(tmp_path) as client, devloop(client, folder, reports):
        assert reports[0].lines() == [f"no manifests found in {folder}: the cluster starts empty"]
        write(folder / "app.yaml", configmap("late"))
        await eventually(lambda: get(client, Kind.CONFIGMAP, "late"))


async def test_a_restart_prunes_what_was_deleted_while_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "a.yaml", configmap("kept"), configmap("dropped"))
    write(folder / "b.yaml", deployment("web"))
    async with cluster(tmp_path) as client:
        async with devloop(client, folder):
            await get(client, Kind.CONFIGMAP, "dropped")
        # boxk8s is down: a document and a whole file go away
        write(folder / "a.yaml", configmap("kept"))
        (folder / "b.yaml").unlink()
        reports: list[ReloadReport] = []
        async with devloop(client, folder, reports):
            assert await gone(client, Kind.CONFIGMAP, "dropped")
            assert await gone(client, Kind.DEPLOYMENT, "web")
            assert await get(client, Kind.CONFIGMAP, "kept")
            assert "objects no file holds any more: applied 0, pruned 2" in reports[0].lines(), reports[0].lines()


async def test_a_restart_with_a_broken_file_prunes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "a.yaml", configmap("one"))
    write(folder / "b.yaml", configmap("two"))
    async with cluster(tmp_path) as client:
        async with devloop(client, folder):
            await get(client, Kind.CONFIGMAP, "two")
        (folder / "b.yaml").write_text("apiVersion: v1\nkind: [\n")  # broken while boxk8s was down
        async with devloop(client, folder) as loop:
            assert loop.last_report is not None and not loop.last_report.ok
            assert await get(client, Kind.CONFIGMAP, "two")  # it may be b.yaml's: kept
            write(folder / "b.yaml", configmap("three"))  # fixed, without `two`
            await eventually(lambda: gone(client, Kind.CONFIGMAP, "two"))
            assert await get(client, Kind.CONFIGMAP, "one")


async def test_a_parent_of_another_tool_is_not_touched(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "app.yaml", configmap("one"))
    async with cluster(tmp_path) as client:
        await client.create(Kind.SECRET, "default", {"metadata": {
            "name": "boxk8s-demo", "labels": {"applyset.kubernetes.io/id": SET_ID},
            "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.32.0"}}})
        reports: list[ReloadReport] = []
        async with devloop(client, folder, reports):
            assert reports[0].lines() == [
                'error ApplySet parent object "secrets./boxk8s-demo" already exists and is managed by tooling '
                '"kubectl" instead of "boxk8s"'], reports[0].lines()
            assert await gone(client, Kind.CONFIGMAP, "one")


async def test_the_folder_removed_then_back(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "app.yaml", configmap("one"))
    async with cluster(tmp_path) as client, devloop(client, folder) as loop:
        shutil.rmtree(folder)
        await eventually(lambda: gone(client, Kind.CONFIGMAP, "one"))
        await reported(loop, f"no manifests left in {folder}")
        write(folder / "app.yaml", configmap("two"))  # a new folder: watched again
        await eventually(lambda: get(client, Kind.CONFIGMAP, "two"))


class FlakyClient(Client):
    """A resource layer that fails with something other than an API error on one object."""

    async def apply(self, rt: Any, namespace: str | None, name: str, body: dict[str, Any], *,
                    force: bool = False, dry_run: bool = False) -> dict[str, Any]:
        if name == "bug":
            raise KeyError("a bug in the layer")
        return await super().apply(rt, namespace, name, body, force=force, dry_run=dry_run)


async def test_a_bug_below_is_reported_on_the_document_and_the_loop_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "a.yaml", configmap("bug"))
    write(folder / "b.yaml", configmap("fine"))
    async with cluster(tmp_path) as plain:
        client = FlakyClient(plain.resources, "boxk8s")
        reports: list[ReloadReport] = []
        async with devloop(client, folder, reports) as loop:
            assert f"error {folder / 'a.yaml'}:1: internal error: KeyError: 'a bug in the layer'" in reports[0].lines()
            assert await get(client, Kind.CONFIGMAP, "fine")
            write(folder / "b.yaml", configmap("fine", "again"))
            await eventually(lambda: _greeting(client, "fine", "again"))
            assert loop.reloads >= 2


CRD_AND_WIDGET = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: {size}
"""


async def test_custom_resources_wait_for_their_crd_in_the_same_manifests(tmp_path: Path) -> None:
    """A CRD and its custom resources in one file (as an operator's manifests ship them): the file
    is applied, the custom resource once the CRD is served; later saves and pruning work on it."""
    from boxk8s.controllers.crd import CRDController

    folder = tmp_path / "manifests"
    app = folder / "operator.yaml"
    write(app, CRD_AND_WIDGET.replace("{size}", "small"), configmap())
    settings = ClusterSettings(state_dir=tmp_path / "state", cluster_name="test", stop_timeout=DEADLINE)
    async with running(settings, controllers=[CRDController], nodes=[], scheduler=False, serve_api=False,
                       proxy=False) as c:
        client = Client(c.resources, "boxk8s")
        async with devloop(client, folder) as loop:
            await get(client, Kind.CONFIGMAP, "settings")  # the rest of the file did not wait

            async def widget() -> dict[str, Any]:
                rt = c.resources.kinds.find("example.com", "v1", "widgets")
                assert rt is not None
                return await client.get(rt, "default", "w1")
            assert (await eventually(widget))["spec"] == {"size": "small"}
            assert loop.last_manifests is not None and not loop.last_manifests.pending

            write(app, CRD_AND_WIDGET.replace("{size}", "large"), configmap())

            async def resized() -> bool:
                return (await widget())["spec"] == {"size": "large"}
            await eventually(resized)

            write(app, CRD_AND_WIDGET.split("---\n")[0], configmap())  # the widget taken out: pruned

            async def pruned() -> bool:
                try:
                    await widget()
                except errors.NotFound:
                    return True
                return False
            await eventually(pruned)


async def test_a_kind_no_crd_defines_still_refuses_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(folder / "bad.yaml", configmap(), CRD_AND_WIDGET.split("---\n")[1].replace("{size}", "small"))
    async with cluster(tmp_path) as client, devloop(client, folder) as loop:
        lines = await reported(loop, f'error {folder / "bad.yaml"}:9: kind: no matches for kind "Widget" in version '
                                     '"example.com/v1"')
        assert lines
        assert await gone(client, Kind.CONFIGMAP, "settings")


async def test_a_crd_applied_by_hand_wakes_a_refused_file(tmp_path: Path) -> None:
    from boxk8s.controllers.crd import CRDController
    from boxk8s.resources import registry

    folder = tmp_path / "manifests"
    write(folder / "widget.yaml", CRD_AND_WIDGET.split("---\n")[1].replace("{size}", "small"))
    settings = ClusterSettings(state_dir=tmp_path / "state", cluster_name="test", stop_timeout=DEADLINE)
    async with running(settings, controllers=[CRDController], nodes=[], scheduler=False, serve_api=False,
                       proxy=False) as c:
        client = Client(c.resources, "boxk8s")
        async with devloop(client, folder) as loop:
            assert loop.last_manifests is not None and loop.last_manifests.errors  # refused: no such kind
            crd_rt = registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            assert crd_rt is not None
            crd = yaml.safe_load(CRD_AND_WIDGET.split("---\n")[0])
            await Client(c.resources, "kubectl").create(crd_rt, None, crd)

            async def widget() -> dict[str, Any]:
                rt = c.resources.kinds.find("example.com", "v1", "widgets")
                assert rt is not None
                return await client.get(rt, "default", "w1")
            assert (await eventually(widget))["spec"] == {"size": "small"}
