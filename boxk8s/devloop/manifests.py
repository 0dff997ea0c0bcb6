"""Manifest files → Kubernetes objects with their origin, or errors as values (no cluster I/O).

What `kubectl apply -f PATH -R` reads: files named on the command line whatever their name, and
in folders (recursively, in `filepath.Walk`'s lexical order) the `.json`, `.yaml` and `.yml`
files. YAML streams hold several documents; JSON files hold one or more concatenated objects;
`kind: List` (and any `*List` with `items`) is expanded into its items; empty documents are
skipped. Hidden folders (`.git` among them) and editor scratch files are never read.

Every object keeps where it came from (file, 1-based line of its start) and where each of its
fields is, so that an error the API server reports on `spec.replicas` points at that line.

Kinds are resolved against what the cluster serves (`resolve`, its custom resources included). A
document of a kind the cluster does not serve yet, but which a CustomResourceDefinition among the
manifests defines, is *pending*, not an error: its file is applied without it, and it is applied
once the CRD is served (the dev loop reloads when the served kinds change). kubectl, which resolves
every kind before it applies, refuses such a file with "no matches for kind … ensure CRDs are
installed first"; that is what any other unknown kind still gets.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from boxk8s.resources import registry
from boxk8s.resources.registry import ResourceType

DEFAULT_PATHS = ("manifests",)
EXTENSIONS = (".yaml", ".yml", ".json")  # kubectl's FileExtensions for folders

# Editor scratch files: vim (swap files, `4913` write test, `~` backups), emacs (`.#lock`,
# `#autosave#`), and the `.tmp` files many editors write before a rename.
_SCRATCH = re.compile(r"(~|\.sw[px]|\.tmp)$|^\.#|^#.*#$|^4913$")

FieldPath = tuple[str | int, ...]
Resolve = Callable[[str, str], ResourceType | None]  # (apiVersion, kind) → the served kind
NO_MATCH = "no matches for kind "  # kubectl's RESTMapper error
CRD_API_VERSION, CRD_KIND = "apiextensions.k8s.io/v1", "CustomResourceDefinition"


class ObjectKey(NamedTuple):
    """An object's identity in the cluster: what a document creates, or a later one replaces."""

    group: str
    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str

    def __str__(self) -> str:
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk} {self.namespace}/{self.name}" if self.namespace else f"{gk} {self.name}"


@dataclass(frozen=True)
class ManifestError:
    """One problem, where it is: a YAML syntax error, a document that is not an object, or an
    error the API server gave for it (then `field` is the field it named)."""

    file: str
    line: int  # 1-based; 0 when the file as a whole is at fault (unreadable)
    message: str
    field: str = ""
    column: int = 0  # 1-based; 0 when unknown

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class Document:
    """One object of a manifest file, checked enough to know what it names."""

    file: str
    line: int  # 1-based line where the document (or the List item) starts
    obj: dict[str, Any]
    resource: ResourceType
    key: ObjectKey
    digest: str  # sha256 of the object as written: a save that changes nothing changes no digest
    field_lines: Mapping[FieldPath, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, path: str) -> int:
        """The line of the field an API error names, or of its nearest enclosing field written in
        the file. A path without list indices (a Go decoding error's, like
        `spec.template.spec.containers.ports.containerPort`) matches the first such field."""
        segments = parse_field_path(path)
        unindexed: dict[FieldPath, int] = {}
        for p, line in self.field_lines.items():
            bare = tuple(s for s in p if not isinstance(s, int))
            if bare not in unindexed or line < unindexed[bare]:
                unindexed[bare] = line
        while segments:
            line = self.field_lines.get(segments) or unindexed.get(segments)
            if line:
                return line
            segments = segments[:-1]
        return self.line


@dataclass(frozen=True)
class PendingDocument:
    """A document whose kind a CRD of the manifests defines, not served yet."""

    file: str
    line: int
    api_version: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind} {self.name} waits for its CustomResourceDefinition"


@dataclass(frozen=True)
class LoadedFile:
    """A file's objects, or its errors: a file with any error is applied not at all."""

    path: str
    documents: tuple[Document, ...] = ()
    errors: tuple[ManifestError, ...] = ()
    pending: tuple[PendingDocument, ...] = ()  # applied later, with the file's next pass


@dataclass(frozen=True)
class Manifests:
    paths: tuple[str, ...]  # what was asked for, for messages
    files: tuple[LoadedFile, ...]

    @property
    def good(self) -> tuple[LoadedFile, ...]:
        return tuple(f for f in self.files if not f.errors)

    @property
    def errors(self) -> tuple[ManifestError, ...]:
        return tuple(e for f in self.files for e in f.errors)

    @property
    def pending(self) -> tuple[PendingDocument, ...]:
        return tuple(p for f in self.good for p in f.pending)

    @property
    def wants_kinds(self) -> bool:
        """Whether a kind the cluster may serve later would change this: documents waiting for their
        CRD, or files refused for a kind not served (a CRD applied by other means serves it)."""
        return bool(self.pending) or any(e.field == "kind" and e.message.startswith(NO_MATCH) for e in self.errors)


# ---- finding files ------------------------------------------------------------------------------

def is_scratch(name: str) -> bool:
    """An editor's temporary or backup file (by its base name)."""
    return bool(_SCRATCH.search(name))


def is_ignored(path: Path, root: Path) -> bool:
    """Whether a path under `root` is never read: inside a hidden folder (`.git`, `.idea`, …) below
    the root, a hidden folder itself, or an editor scratch file. Decided from the name alone, so
    that it also holds for a path already deleted (the watcher asks about those)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    if any(p.startswith(".") and p not in (".", "..") for p in parts[:-1]):
        return True
    last = parts[-1] if parts else ""
    return is_scratch(last) or (last.startswith(".") and not is_manifest_name(last))


def is_manifest_name(name: str) -> bool:
    return name.endswith(EXTENSIONS) and not is_scratch(name)


def find_manifest_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files to read, in apply order: each path in turn, a folder walked recursively in
    lexical order (Go's filepath.Walk, which kubectl uses: files and folders sorted together)."""
    seen: set[Path] = set()
    out: list[Path] = []
    for p in paths:
        root = Path(p)
        found = [root] if root.is_file() else list(_walk(root, root)) if root.is_dir() else []
        for f in found:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def _walk(folder: Path, root: Path) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and entry.is_dir():
            continue
        if entry.is_dir():
            yield from _walk(entry, root)
        elif is_manifest_name(entry.name) and not is_ignored(entry, root):
            yield entry


def load_manifests(paths: Sequence[str | Path] = DEFAULT_PATHS, resolve: Resolve = registry.by_kind) -> Manifests:
    """Find, read and parse every manifest under `paths` (blocking file reads: run it in a thread);
    kinds resolved with `resolve` (default: the built-in kinds) or the CRDs among them."""
    raws: list[tuple[str, _Raw | ManifestError]] = []
    for f in find_manifest_files(paths):
        try:
            text = f.read_bytes().decode("utf-8")
        except FileNotFoundError:
            continue  # removed between the listing and the read: a later pass sees it gone
        except (OSError, UnicodeDecodeError) as e:
            raws.append((str(f), ManifestError(str(f), 0, f"cannot read the file: {e}")))
            continue
        raws.append((str(f), _raw_items(str(f), text)))
    defined = frozenset(k for _, raw in raws if not isinstance(raw, ManifestError) for k in _defined_kinds(raw))
    files = tuple(_loaded(path, raw, resolve, defined) for path, raw in raws)
    return Manifests(tuple(str(p) for p in paths), files)


def crd_kinds(obj: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of every served version a CustomResourceDefinition object defines."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    group, names = spec.get("group"), spec.get("names") if isinstance(spec.get("names"), dict) else {}
    kind, versions = names.get("kind"), spec.get("versions")
    if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
        return set()
    return {(f"{group}/{v['name']}", kind) for v in versions
            if isinstance(v, dict) and isinstance(v.get("name"), str) and v.get("served", True)}


def _defined_kinds(raw: _Raw) -> set[tuple[str, str]]:
    return {k for _, obj, _ in raw for _, item, _ in _expand_list(0, obj, {})
            if isinstance(item, dict) and item.get("apiVersion") == CRD_API_VERSION and item.get("kind") == CRD_KIND
            for k in crd_kinds(item)}


# ---- parsing ------------------------------------------------------------------------------------

def parse_manifest(path: str, text: str, resolve: Resolve = registry.by_kind) -> LoadedFile:
    """One file's text → its objects, or every error found in it."""
    raw = _raw_items(path, text)
    return _loaded(path, raw, resolve, frozenset(_defined_kinds(raw)) if not isinstance(raw, ManifestError) else frozenset())


def _raw_items(path: str, text: str) -> _Raw | ManifestError:
    return _json_documents(path, text) if path.endswith(".json") else _yaml_documents(path, text)


def _loaded(path: str, raw: _Raw | ManifestError, resolve: Resolve, defined: frozenset[tuple[str, str]]) -> LoadedFile:
    if isinstance(raw, ManifestError):
        return LoadedFile(path, errors=(raw,))
    documents: list[Document] = []
    pending: list[PendingDocument] = []
    errors: list[ManifestError] = []
    for line, obj, lines in raw:
        for item_line, item, item_lines in _expand_list(line, obj, lines):
            doc = _document(path, item_line, item, item_lines, resolve, defined)
            if isinstance(doc, ManifestError):
                errors.append(doc)
            elif isinstance(doc, PendingDocument):
                pending.append(doc)
            else:
                documents.append(doc)
    if errors:
        return LoadedFile(path, errors=tuple(errors))
    return LoadedFile(path, documents=tuple(documents), pending=tuple(pending))


_Raw = list[tuple[int, Any, dict[FieldPath, int]]]


class _Loader(yaml.SafeLoader):
    """YAML as kubectl reads it: sigs.k8s.io/yaml converts YAML to JSON, where a timestamp is the
    string it was written as (PyYAML would make it a datetime). The pure-Python loader, not
    libyaml's: the same error messages wherever boxk8s is installed, and manifests are small."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)


def _yaml_documents(path: str, text: str) -> _Raw | ManifestError:
    out: _Raw = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            dup = _duplicate_key(node)
            if dup:
                return ManifestError(path, dup[0], f'key "{dup[1]}" already set in map', column=dup[2])
            out.append((node.start_mark.line + 1, _string_keys(loader.construct_document(node)), _field_lines(node)))
    except yaml.MarkedYAMLError as e:
        # PyYAML's problem mark (where it gave up), its context (what it was parsing, from where) in the message
        mark, context = e.problem_mark or e.context_mark, e.context or ""
        if context and e.context_mark and e.problem_mark:
            context += f" (line {e.context_mark.line + 1}, column {e.context_mark.column + 1})"
        message = f"{context}: {e.problem}" if context and e.problem else (e.problem or context or str(e))
        return ManifestError(path, mark.line + 1 if mark else 1, message, column=mark.column + 1 if mark else 0)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        return ManifestError(path, line, f"unacceptable character #x{e.character:04x}: {e.reason}")
    except yaml.YAMLError as e:
        return ManifestError(path, 1, str(e))
    finally:
        loader.dispose()
    return out


def _string_keys(value: Any) -> Any:
    """Mapping keys as JSON has them (sigs.k8s.io/yaml's YAMLToJSON): `on:` is the key "true"."""
    if isinstance(value, dict):
        return {_key(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    return json.dumps(k) if isinstance(k, bool | int | float) or k is None else str(k)


def _json_documents(path: str, text: str) -> _Raw | ManifestError:
    """A JSON stream: one object, or several one after another (kubectl's YAMLOrJSONDecoder)."""
    decoder = json.JSONDecoder()
    out: _Raw = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return out
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            return ManifestError(path, e.lineno, e.msg, column=e.colno)
        out.append((text.count("\n", 0, pos) + 1, obj, {}))
        pos = end


def _expand_list(line: int, obj: Any, lines: dict[FieldPath, int]) -> Iterator[tuple[int, Any, dict[FieldPath, int]]]:
    """A List's items (each with its own line and field lines), an empty document as nothing,
    anything else as itself."""
    if obj is None:
        return
    if isinstance(obj, dict) and str(obj.get("kind") or "").endswith("List") and isinstance(obj.get("items"), list):
        for i, item in enumerate(obj["items"]):
            sub = {path[2:]: n for path, n in lines.items() if path[:2] == ("items", i)}
            yield lines.get(("items", i), line), item, sub
        return
    yield line, obj, lines


def _document(path: str, line: int, obj: Any, lines: dict[FieldPath, int], resolve: Resolve,
              defined: frozenset[tuple[str, str]]) -> Document | PendingDocument | ManifestError:
    def error(message: str, where: str = "") -> ManifestError:
        at = lines.get(parse_field_path(where), line) if where else line
        return ManifestError(path, at, message, field=where)

    if not isinstance(obj, dict):
        found = "a list" if isinstance(obj, list) else f"a {type(obj).__name__} value"
        return error(f"not a Kubernetes object: expected a mapping, found {found}")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    # apimachinery's missing-field errors, as kubectl prints them
    if not api_version or not isinstance(api_version, str):
        return error("Object 'apiVersion' is missing", "apiVersion")
    if not kind or not isinstance(kind, str):
        return error("Object 'Kind' is missing", "kind")
    md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = md.get("name")
    if not name or not isinstance(name, str):
        return error("resource name may not be empty", "metadata.name")
    rt = resolve(api_version, kind)
    if rt is None and (api_version, kind) in defined:
        return PendingDocument(path, line, api_version, kind, name)
    if rt is None:  # kubectl's RESTMapper error
        return error(f'{NO_MATCH}"{kind}" in version "{api_version}"', "kind")
    namespace = ""
    if rt.namespaced:
        namespace = md.get("namespace") or "default"
        if not isinstance(namespace, str):
            return error("must be a string", "metadata.namespace")
    return Document(path, line, obj, rt, ObjectKey(rt.group, rt.kind, namespace, name), digest(obj), lines)


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# ---- where fields are ---------------------------------------------------------------------------

_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


def parse_field_path(path: str) -> FieldPath:
    """`spec.containers[0].image` → ("spec", "containers", 0, "image"); `metadata.labels[app]` →
    ("metadata", "labels", "app"), the way fields are keyed in `Document.field_lines`."""
    out: list[str | int] = []
    for bracket, name in _SEGMENT.findall(path):
        if name:
            out.append(name)
        else:
            out.append(int(bracket) if bracket.isdigit() else bracket)
    return tuple(out)


def _field_lines(node: yaml.Node) -> dict[FieldPath, int]:
    out: dict[FieldPath, int] = {}
    stack: list[tuple[FieldPath, yaml.Node]] = [((), node)]
    while stack:
        prefix, n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    path = (*prefix, k.value)
                    out.setdefault(path, k.start_mark.line + 1)
                    stack.append((path, v))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                path = (*prefix, i)
                out[path] = v.start_mark.line + 1
                stack.append((path, v))
    return out


def _duplicate_key(node: yaml.Node) -> tuple[int, str, int] | None:
    """The first key written twice in one mapping: (line, key, column). PyYAML keeps the last
    silently; the Kubernetes YAML decoders refuse it."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        return k.start_mark.line + 1, k.value, k.start_mark.column + 1
                    seen.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


# ---- order --------------------------------------------------------------------------------------

def apply_order(documents: Iterable[Document]) -> list[Document]:
    """Namespaces first, then CustomResourceDefinitions, then everything else in file and
    document order: the objects others need in order to be created at all (Helm's InstallOrder
    starts the same way); the rest in the order kubectl apply reads them."""
    return sorted(documents, key=lambda d: kind_rank(d.key.kind, d.key.group))  # stable


def kind_rank(kind: str, group: str) -> int:
    if kind == "Namespace" and group == "":
        return 0
    if kind == "CustomResourceDefinition" and group == "apiextensions.k8s.io":
        return 1
    return 2
