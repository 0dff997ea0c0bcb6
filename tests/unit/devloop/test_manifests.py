"""Manifest loading as tables: which files, which documents, their origin and keys, and the errors
(as values) for what cannot be applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxk8s.devloop.manifests import (
    Document,
    ManifestError,
    ObjectKey,
    apply_order,
    find_manifest_files,
    is_ignored,
    load_manifests,
    parse_field_path,
    parse_manifest,
)
from boxk8s.resources.registry import ResourceType

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


# ---- finding files ------------------------------------------------------------------------------

def test_folders_are_walked_in_lexical_order_skipping_hidden_folders_and_scratch_files(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    files = [
        "b.yaml", "a.yml", "a/z.json", "a/c/d.yaml", "a.yaml",  # read
        "notes.txt", "Makefile",  # not manifests
        ".git/config.yaml", ".hidden/x.yaml", "a/.cache/y.yaml",  # hidden folders
        "b.yaml~", ".b.yaml.swp", ".b.yaml.swx", "#b.yaml#", ".#b.yaml", "4913", "b.yaml.tmp",  # editors
    ]
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("")
    found = [str(p.relative_to(root)) for p in find_manifest_files([root])]
    # Go's filepath.Walk: entries sorted by name, folders entered where they sort ("a" < "a.yaml")
    assert found == ["a/c/d.yaml", "a/z.json", "a.yaml", "a.yml", "b.yaml"]


def test_a_file_named_on_its_own_is_read_whatever_its_name_and_once(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "x.yaml").write_text("")
    (tmp_path / "extra.txt").write_text("")
    found = find_manifest_files([tmp_path / "extra.txt", tmp_path / "dir", tmp_path / "dir" / "x.yaml",
                                 tmp_path / "missing"])
    assert found == [tmp_path / "extra.txt", tmp_path / "dir" / "x.yaml"]


def test_load_reads_every_file_and_keeps_errors_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CM.format(name="one"))
    (tmp_path / "b.yaml").write_text("kind: [")
    (tmp_path / "c.yaml").write_bytes(b"\xff\xfe")
    loaded = load_manifests([tmp_path])
    assert [f.path for f in loaded.files] == [str(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.yaml")]
    assert [f.path for f in loaded.good] == [str(tmp_path / "a.yaml")]
    assert [e.file for e in loaded.errors] == [str(tmp_path / "b.yaml"), str(tmp_path / "c.yaml")]
    assert loaded.errors[1].message.startswith("cannot read the file: ")


@pytest.mark.parametrize(("path", "ignored"), [
    ("app.yaml", False),
    ("sub/app.yaml", False),
    (".app.yaml", False),  # a hidden file is read; only hidden folders are skipped
    (".git", True),
    (".git/HEAD", True),
    ("sub/.git/x.yaml", True),
    (".idea/workspace.xml", True),
    ("app.yaml~", True),
    (".app.yaml.swp", True),
    (".app.yaml.swx", True),
    ("#app.yaml#", True),
    (".#app.yaml", True),
    ("4913", True),
    ("app.yaml.tmp", True),
    ("sub", False),
])
def test_what_the_watcher_ignores(path: str, ignored: bool) -> None:
    root = Path("/project/manifests")
    assert is_ignored(root / path, root) is ignored


def test_a_hidden_folder_above_the_root_does_not_hide_it() -> None:
    root = Path("/home/me/.projects/app/manifests")
    assert not is_ignored(root / "app.yaml", root)


# ---- parsing ------------------------------------------------------------------------------------

def test_documents_keep_their_file_line_and_key() -> None:
    text = (
        "# a comment\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"  # line 2
        "---\n"
        "---\n"  # an empty document
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"  # line 8
        "spec:\n  replicas: 2\n"  # replicas on line 14
        "---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  namespace: ignored\n"  # line 16
    )
    f = parse_manifest("m/app.yaml", text)
    assert f.errors == ()
    assert [(d.file, d.line, d.key) for d in f.documents] == [
        ("m/app.yaml", 2, ObjectKey("", "ConfigMap", "default", "one")),  # no namespace: default
        ("m/app.yaml", 8, ObjectKey("apps", "Deployment", "shop", "web")),
        ("m/app.yaml", 16, ObjectKey("", "Namespace", "", "shop")),  # cluster-scoped: no namespace
    ]
    web = f.documents[1]
    assert web.obj["spec"] == {"replicas": 2}
    assert web.line_of("spec.replicas") == 14
    assert web.line_of(".spec.replicas") == 14
    assert web.line_of("spec.template.spec.containers[0].image") == 13  # nearest written field: spec
    assert web.line_of("status") == 8  # nothing written: the document's line


def test_a_go_path_without_indices_finds_the_first_such_field() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
            "  - name: a\n    image: x\n"  # line 7
            "  - name: b\n    image: y\n    ports:\n    - containerPort: 99999999999\n")  # port on line 12
    pod = parse_manifest("p.yaml", text).documents[0]
    assert pod.line_of("spec.containers.ports.containerPort") == 12
    assert pod.line_of("spec.containers.image") == 8
    assert pod.line_of("spec.containers[1].image") == 10
    assert pod.line_of("spec.containers[1].env") == 9  # the item's first line


def test_a_list_is_expanded_into_its_items_with_their_lines() -> None:
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: one\n"  # line 4
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: two\n  data:\n    k: v\n")  # line 8
    f = parse_manifest("list.yaml", text)
    assert [(d.line, d.key.name) for d in f.documents] == [(4, "one"), (8, "two")]
    assert f.documents[1].line_of("data[k]") == 13
    assert f.documents[1].line_of("metadata.name") == 11


def test_json_files_hold_one_or_more_objects() -> None:
    text = ('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}}\n'
            '\n{"apiVersion": "v1", "kind": "List", "items": [\n'
            ' {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "two"}}]}\n')
    f = parse_manifest("app.json", text)
    assert [(d.line, d.key) for d in f.documents] == [
        (1, ObjectKey("", "ConfigMap", "default", "one")), (3, ObjectKey("", "Secret", "default", "two"))]


def test_yaml_reads_as_kubectl_reads_it() -> None:
    f = parse_manifest("a.yaml", CM.format(name="one") + "data:\n  day: 2024-01-31\n  on: yes\n")
    # a timestamp stays the string it was written as (YAML → JSON); YAML 1.1 booleans stay booleans
    assert f.documents[0].obj["data"] == {"day": "2024-01-31", "true": True}  # keys are strings in JSON


def test_the_digest_follows_the_content_not_the_layout() -> None:
    a = parse_manifest("a.yaml", CM.format(name="one") + "data: {k: v}\n").documents[0]
    b = parse_manifest("b.yaml", "# moved\nkind: ConfigMap\napiVersion: v1\ndata:\n  k: v\nmetadata: {name: one}\n")
    c = parse_manifest("a.yaml", CM.format(name="one") + "data: {k: w}\n").documents[0]
    assert a.digest == b.documents[0].digest != c.digest


@pytest.mark.parametrize(("text", "error"), [
    # YAML syntax: PyYAML's line, column and words
    ("apiVersion: v1\nkind: ConfigMap\n  name: x\n",
     ManifestError("f.yaml", 3, "mapping values are not allowed here", column=7)),
    ("apiVersion: v1\nkind: [ConfigMap\n",
     ManifestError("f.yaml", 3, "while parsing a flow sequence (line 2, column 7): expected ',' or ']', but got '<stream end>'",
                   column=1)),
    ("a: 'unclosed\n",
     ManifestError("f.yaml", 2, "while scanning a quoted scalar (line 1, column 4): found unexpected end of stream",
                   column=1)),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
     ManifestError("f.yaml", 5, 'key "name" already set in map', column=3)),
    # what every object needs (apimachinery's and kubectl's words), at the line of the field if written
    ("kind: ConfigMap\nmetadata:\n  name: x\n", ManifestError("f.yaml", 1, "Object 'apiVersion' is missing",
                                                          field="apiVersion")),
    ("apiVersion: v1\nmetadata:\n  name: x\n", ManifestError("f.yaml", 1, "Object 'Kind' is missing", field="kind")),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n",
     ManifestError("f.yaml", 1, "resource name may not be empty", field="metadata.name")),
    ("apiVersion: v1\nkind: ConfigMap\n", ManifestError("f.yaml", 1, "resource name may not be empty",
                                                        field="metadata.name")),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ''\n",
     ManifestError("f.yaml", 4, "resource name may not be empty", field="metadata.name")),
    # kinds the cluster does not serve: kubectl's RESTMapper message
    ("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: x\n",
     ManifestError("f.yaml", 2, 'no matches for kind "Widget" in version "example.com/v1"', field="kind")),
    ("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n",
     ManifestError("f.yaml", 2, 'no matches for kind "Deployment" in version "apps/v1beta1"', field="kind")),
    ("- a\n- b\n", ManifestError("f.yaml", 1, "not a Kubernetes object: expected a mapping, found a list")),
    ("just text\n", ManifestError("f.yaml", 1, "not a Kubernetes object: expected a mapping, found a str value")),
])
def test_errors_are_values_with_their_place(text: str, error: ManifestError) -> None:
    f = parse_manifest("f.yaml", text)
    assert f.errors == (error,)
    assert f.documents == ()


def test_json_syntax_errors_have_their_place() -> None:
    f = parse_manifest("f.json", '{"apiVersion": "v1",\n  "kind": }\n')
    assert f.errors == (ManifestError("f.json", 2, "Expecting value", column=11),)


def test_one_bad_document_makes_the_whole_file_an_error() -> None:
    f = parse_manifest("f.yaml", CM.format(name="good") + "---\n" + "apiVersion: v1\nkind: ConfigMap\n")
    assert f.documents == ()
    assert [e.line for e in f.errors] == [6]


def test_an_error_renders_as_file_line_column_field_message() -> None:
    assert str(ManifestError("m/a.yaml", 3, "bad", field="spec.replicas")) == "m/a.yaml:3: spec.replicas: bad"
    assert str(ManifestError("m/a.yaml", 3, "bad", column=7)) == "m/a.yaml:3:7: bad"
    assert str(ManifestError("m/a.yaml", 0, "cannot read")) == "m/a.yaml: cannot read"


@pytest.mark.parametrize(("path", "segments"), [
    ("spec.replicas", ("spec", "replicas")),
    (".spec.replicas", ("spec", "replicas")),
    ("spec.template.spec.containers[0].image", ("spec", "template", "spec", "containers", 0, "image")),
    ("metadata.labels[app.kubernetes.io/name]", ("metadata", "labels", "app.kubernetes.io/name")),
    ("", ()),
])
def test_field_paths(path: str, segments: tuple[object, ...]) -> None:
    assert parse_field_path(path) == segments


# ---- order --------------------------------------------------------------------------------------

def _doc(kind: str, name: str, group: str = "") -> Document:
    rt = ResourceType(group, "v1", kind, kind.lower() + "s", kind.lower(), False, "x")
    return Document("f.yaml", 1, {}, rt, ObjectKey(group, kind, "", name), "d")


def test_namespaces_then_definitions_then_the_rest_in_file_order() -> None:
    docs = [_doc("Deployment", "web", "apps"), _doc("Namespace", "b"), _doc("ConfigMap", "c"),
            _doc("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io"), _doc("Namespace", "a"),
            _doc("Service", "web")]
    assert [d.key.name for d in apply_order(docs)] == ["b", "a", "widgets.example.com", "web", "c", "web"]
    assert [d.key.kind for d in apply_order(docs)][3:] == ["Deployment", "ConfigMap", "Service"]
