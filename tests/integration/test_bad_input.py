"""Bad input, generated: every malformed request gets a 4xx `Status`, quickly, and changes nothing.

One server per test function (Hypothesis shares it across examples, on purpose: the invariant is
that no bad request leaves a trace). Before each property a few objects are created; after every
bad request the lists of those kinds and the store's revision are exactly as they were.
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from boxk8s.resources import registry
from tests.integration.conftest import (
    CM,
    DEPLOYS,
    PODS,
    SVCS,
    Api,
    assert_status,
    configmap,
    deployment,
    pod,
    service,
    watch_lines,
)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LISTS = ["/api/v1/namespaces", CM, DEPLOYS, PODS, SVCS]


@dataclass(frozen=True)
class Kind:
    collection: str
    seed_name: str
    template: dict[str, Any]


KINDS = {
    "configmap": Kind(CM, "seed-cm", configmap("seed-cm", {"a": "1", "b": "2"}, {"tier": "seed"})),
    "deployment": Kind(DEPLOYS, "seed-deploy", deployment("seed-deploy", replicas=2)),
    "pod": Kind(PODS, "seed-pod", pod("seed-pod")),
    "service": Kind(SVCS, "seed-svc", service("seed-svc")),
}
KIND_NAMES = sorted(KINDS)


async def snapshot(api: Api) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    lists = {path: (await api.ok("GET", path))["items"] for path in LISTS}
    return api.store.current_revision, lists


class Seeded:
    def __init__(self, api: Api, stored: dict[str, dict[str, Any]]) -> None:
        self.api = api
        self.stored = stored  # kind name -> the stored seed object

    def __repr__(self) -> str:
        return "Seeded(...)"

    async def snapshot(self) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        return await snapshot(self.api)

    async def assert_unchanged(self, before: tuple[int, dict[str, list[dict[str, Any]]]]) -> None:
        after = await snapshot(self.api)
        assert after[0] == before[0], "the store's revision moved: a bad request was written"
        for path, items in before[1].items():
            got = after[1][path]
            assert [(i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in got] == [
                (i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in items
            ], path
            assert got == items, path


@pytest.fixture
async def seeded(api: Api) -> AsyncIterator[Seeded]:
    stored = {}
    for name, kind in KINDS.items():
        stored[name] = await api.ok("POST", kind.collection, body=kind.template)
    extra = configmap("seed-cm-2", {"x": "y"}, {"tier": "other"})
    await api.ok("POST", CM, body=extra)
    yield Seeded(api, stored)


async def expect_failure(s: Seeded, method: str, path: str, *, reason: str | None = None,
                         code: int | None = None, **kw: Any) -> dict[str, Any]:
    """Each example compares with the state just before it: one bad write must not make every
    later example fail (Hypothesis would then shrink to a meaningless example)."""
    before = await s.snapshot()
    status, body, _ = await s.api.request(method, path, **kw)
    assert_status(status, body, code, reason)
    await s.assert_unchanged(before)
    return body


async def expect_watch_failure(s: Seeded, collection: str, params: dict[str, str]) -> None:
    """A watch that must be refused up front: a 400 Status, not a stream."""
    before = await s.snapshot()
    code, body = await watch_lines(s.api, collection, params)
    assert_status(code, body, 400, "BadRequest")
    await s.assert_unchanged(before)


def one_path(kind: Kind) -> str:
    return f"{kind.collection}/{kind.seed_name}"


# ---- strategies -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8) | st.floats(
    allow_nan=False, allow_infinity=False
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
non_integral_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
small_lists = st.lists(json_scalars, max_size=2)
small_dicts = st.dictionaries(st.text(max_size=5), json_scalars, max_size=2)

# A value of another JSON type than the one at the place it replaces (null is left out: a null is
# "unset" for most optional fields, which is valid).
WRONG_TYPE = {
    str: st.integers() | non_integral_floats | st.booleans() | small_lists | small_dicts,
    int: st.text(max_size=6) | non_integral_floats | st.booleans() | small_lists | small_dicts,
    bool: st.text(max_size=6) | st.integers() | small_lists | small_dicts,
    float: st.text(max_size=6) | st.booleans() | small_lists | small_dicts,
    dict: st.text(max_size=6) | st.integers() | st.booleans() | small_lists,
    list: st.text(max_size=6) | st.integers() | st.booleans() | small_dicts,
}

# Places whose value is free-form or int-or-string: any replacement there may be valid.
FREE_FORM = ("fieldsV1", "targetPort", "maxSurge", "maxUnavailable")
# Maps with arbitrary keys: an extra key there is not an unknown field.
MAPS = ("labels", "annotations", "data", "binaryData", "matchLabels", "nodeSelector", "fieldsV1")


def walk(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out: list[tuple[tuple[Any, ...], Any]] = []
    if path:
        out.append((path, obj))
    if path and path[-1] in FREE_FORM:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(walk(v, (*path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(walk(v, (*path, i)))
    return out


def set_at(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    obj = copy.deepcopy(obj)
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


def is_map(path: tuple[Any, ...], kind_name: str) -> bool:
    if path and path[-1] in MAPS:
        return True
    # a Service's spec.selector is a map[string]string (a Deployment's is a LabelSelector)
    return kind_name == "service" and path == ("spec", "selector")


@st.composite
def wrong_type_mutation(draw: st.DrawFn, base: dict[str, Any], kind_name: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    places = [(p, v) for p, v in walk(base) if v is not None and p[-1] not in FREE_FORM]
    path, old = draw(st.sampled_from(places))
    new = draw(WRONG_TYPE[type(old)])
    return path, set_at(base, path, new)


@st.composite
def unknown_field_mutation(draw: st.DrawFn, base: dict[str, Any], kind_name: str,
                           non_null: bool = False) -> tuple[tuple[Any, ...], dict[str, Any]]:
    structs: list[tuple[Any, ...]] = [()]
    structs += [p for p, v in walk(base) if isinstance(v, dict) and not is_map(p, kind_name)
                and "fieldsV1" not in p]
    path = draw(st.sampled_from(structs))
    key = "zz" + draw(st.text(string.ascii_letters + string.digits, min_size=1, max_size=8))
    # In a merge patch a null deletes the key: nothing unknown is left to refuse.
    value = draw(json_values.filter(lambda v: v is not None) if non_null else json_values)
    obj = copy.deepcopy(base)
    cur = obj
    for p in path:
        cur = cur[p]
    cur[key] = value
    return (*path, key), obj


def not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    doc = json.dumps(KINDS[draw(st.sampled_from(KIND_NAMES))].template).encode()
    return doc[: draw(st.integers(0, len(doc) - 1))]


malformed_json = st.binary(max_size=64).filter(not_json) | truncated_json() | st.text(max_size=30).map(
    str.encode).filter(not_json)


def bad_yaml(text: str) -> bool:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return True
    return False


YAML_BAD_SNIPPETS = [
    "a: [", "a: {b: c", "a: b: c", "- a\nb: c", "key: 'unterminated", 'key: "unterminated', "\t- x",
    "a:\n  - b\n c: d", "!!python/object:os.system ls", "&a [*b]", "metadata: {name: x}\n  kind: y",
    "{{", "]", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: 1",
    "%YAML 9.9\n---\na: 1", "? [a\n: b", "a: *undefined",
]
malformed_yaml = st.sampled_from(YAML_BAD_SNIPPETS) | st.text(max_size=40).filter(bad_yaml) | st.builds(
    lambda good, bad: good + "\n" + bad,
    st.sampled_from(["apiVersion: v1", "kind: ConfigMap\nmetadata:\n  name: y", "data:\n  a: b"]),
    st.sampled_from(YAML_BAD_SNIPPETS),
)
# YAML that parses, but not to an object
yaml_not_object = st.sampled_from(["42", "- a\n- b", "just text", "true", "3.5", "null", "~", "'x'"])

# ---- malformed bodies --------------------------------------------------------------------------


@PROPERTY
@given(raw=malformed_json, kind_name=st.sampled_from(KIND_NAMES),
       how=st.sampled_from(["POST", "PUT", "merge", "strategic", "json", "apply"]))
async def test_malformed_json_body(seeded: Seeded, raw: bytes, kind_name: str, how: str) -> None:
    kind = KINDS[kind_name]
    if how == "POST":
        await expect_failure(seeded, "POST", kind.collection, data=raw, content_type="application/json",
                             code=400, reason="BadRequest")
    elif how == "PUT":
        await expect_failure(seeded, "PUT", one_path(kind), data=raw, content_type="application/json",
                             code=400, reason="BadRequest")
    else:
        ctype = f"application/{how}-patch+json" if how != "apply" else "application/apply-patch+yaml"
        if how == "strategic":
            ctype = "application/strategic-merge-patch+json"
        if how == "apply" and not bad_yaml(raw.decode("utf-8", "replace")):
            raw = b"{" + raw  # must stay malformed as YAML too
        await expect_failure(seeded, "PATCH", one_path(kind), data=raw, content_type=ctype,
                             params={"fieldManager": "x"}, code=400, reason="BadRequest")



@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("how", ["POST", "merge"])
async def test_numbers_json_cannot_carry_are_refused(seeded: Seeded, number: str, how: str) -> None:
    """Python's json module takes NaN and Infinity; Go's encoding/json does not, and neither may we:
    taken, they would be stored as null (or served as text no client parses)."""
    kind = KINDS["configmap"]
    if how == "POST":
        raw = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nan","annotations":{"n":"1"}},"x":%s}'
        body = await expect_failure(seeded, "POST", kind.collection, data=(raw % number).encode(),
                                    content_type="application/json", code=400, reason="BadRequest")
    else:
        body = await expect_failure(seeded, "PATCH", one_path(kind), data=f'{{"x":{number}}}'.encode(),
                                    content_type="application/merge-patch+json", code=400, reason="BadRequest")
    assert body["message"].startswith("the body of the request could not be decoded")


@pytest.mark.parametrize("number", [".nan", ".inf", "-.Inf"])
async def test_yaml_numbers_json_cannot_carry_are_refused(seeded: Seeded, number: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nan\n  x: [{number}]\n"
    body = await expect_failure(seeded, "POST", KINDS["configmap"].collection, data=text.encode(),
                                content_type="application/yaml", code=400, reason="BadRequest")
    assert body["message"].startswith("the body of the request could not be decoded")


@PROPERTY
@given(text=malformed_yaml, kind_name=st.sampled_from(KIND_NAMES), method=st.sampled_from(["POST", "PUT"]))
async def test_malformed_yaml_body(seeded: Seeded, text: str, kind_name: str, method: str) -> None:
    kind = KINDS[kind_name]
    path = kind.collection if method == "POST" else one_path(kind)
    await expect_failure(seeded, method, path, data=text.encode(), content_type="application/yaml",
                         code=400, reason="BadRequest")


@settings(PROPERTY, max_examples=20)
@given(text=yaml_not_object, kind_name=st.sampled_from(KIND_NAMES), method=st.sampled_from(["POST", "PUT"]))
async def test_yaml_that_is_not_an_object(seeded: Seeded, text: str, kind_name: str, method: str) -> None:
    kind = KINDS[kind_name]
    path = kind.collection if method == "POST" else one_path(kind)
    await expect_failure(seeded, method, path, data=text.encode(), content_type="application/yaml",
                         code=400, reason="BadRequest")


# ---- well-formed JSON, wrong content --------------------------------------------------------------


@settings(PROPERTY, max_examples=100)
@given(data=st.data(), kind_name=st.sampled_from(KIND_NAMES),
       how=st.sampled_from(["POST", "PUT", "merge", "strategic"]))
async def test_wrong_type_anywhere(seeded: Seeded, data: st.DataObject, kind_name: str, how: str) -> None:
    kind = KINDS[kind_name]
    if how == "POST":
        base = set_at(kind.template, ("metadata", "name"), "mutant")
        path, body = data.draw(wrong_type_mutation(base, kind_name), label="mutation")
        await expect_failure(seeded, "POST", kind.collection, body=body)
        return
    # PUT and patches start from the stored object, status, managedFields and all
    base = seeded.stored[kind_name]
    path, body = data.draw(wrong_type_mutation(base, kind_name), label="mutation")
    if how != "PUT":
        assume(path != ("metadata",))  # a known 500: test_patch_metadata_not_an_object
    if how == "PUT":
        await expect_failure(seeded, "PUT", one_path(kind), body=body)
    else:
        ctype = "application/merge-patch+json" if how == "merge" else "application/strategic-merge-patch+json"
        await expect_failure(seeded, "PATCH", one_path(kind), data=json.dumps(body), content_type=ctype)


@pytest.mark.parametrize("ctype", ["application/merge-patch+json", "application/strategic-merge-patch+json"])
@pytest.mark.parametrize("value", ["0", 5, ["x"], True])
async def test_patch_metadata_not_an_object(seeded: Seeded, ctype: str, value: Any) -> None:
    await expect_failure(seeded, "PATCH", one_path(KINDS["configmap"]), data=json.dumps({"metadata": value}),
                         content_type=ctype, code=400, reason="BadRequest")


@PROPERTY
@given(data=st.data(), kind_name=st.sampled_from(KIND_NAMES), method=st.sampled_from(["POST", "PUT"]))
async def test_unknown_field_is_refused_when_strict(seeded: Seeded, data: st.DataObject, kind_name: str,
                                                    method: str) -> None:
    kind = KINDS[kind_name]
    if method == "POST":
        base = set_at(kind.template, ("metadata", "name"), "unknown-field")
        _, body = data.draw(unknown_field_mutation(base, kind_name), label="mutation")
        target = kind.collection
    else:
        _, body = data.draw(unknown_field_mutation(seeded.stored[kind_name], kind_name), label="mutation")
        target = one_path(kind)
    err = await expect_failure(seeded, method, target, body=body, params={"fieldValidation": "Strict"},
                               code=400, reason="BadRequest")
    assert "unknown field" in err["message"], err


@settings(PROPERTY, max_examples=30)
@given(data=st.data(), kind_name=st.sampled_from(KIND_NAMES),
       ctype=st.sampled_from(["application/merge-patch+json", "application/strategic-merge-patch+json"]))
async def test_unknown_field_in_patch_when_strict(seeded: Seeded, data: st.DataObject, kind_name: str,
                                                  ctype: str) -> None:
    kind = KINDS[kind_name]
    _, body = data.draw(unknown_field_mutation(seeded.stored[kind_name], kind_name, non_null=True),
                        label="mutation")
    await expect_failure(seeded, "PATCH", one_path(kind), data=json.dumps(body), content_type=ctype,
                         params={"fieldValidation": "Strict"}, code=400, reason="BadRequest")


# ---- size --------------------------------------------------------------------------------------

LIMIT = 3 * 1024 * 1024




@pytest.mark.parametrize("chunked", [False, True])
@settings(PROPERTY, max_examples=6)
@given(extra=st.integers(1, 512 * 1024), how=st.sampled_from(["POST", "PUT", "PATCH"]))
async def test_body_over_3mib(seeded: Seeded, extra: int, how: str, chunked: bool) -> None:
    filler = "x" * (LIMIT + extra)
    body = json.dumps(set_at(KINDS["configmap"].template, ("data", "big"), filler)).encode()
    assert len(body) > LIMIT
    path = CM if how == "POST" else one_path(KINDS["configmap"])
    ctype = "application/merge-patch+json" if how == "PATCH" else "application/json"
    payload: Any = body
    if chunked:
        async def gen() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 256 * 1024):
                yield body[i:i + 256 * 1024]
        payload = gen()
    await expect_failure(seeded, how, path, data=payload, content_type=ctype, code=413,
                         reason="RequestEntityTooLarge")


# ---- paths -------------------------------------------------------------------------------------

segment = st.text(string.ascii_lowercase + string.digits + "-.", min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)


@st.composite
def unknown_resource_path(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["group", "version", "plural", "core-version", "core-plural", "ns-plural"]))
    name = draw(segment)
    if shape == "group":
        group = "x-" + draw(segment) + ".example.com"
        return draw(st.sampled_from([f"/apis/{group}", f"/apis/{group}/v1", f"/apis/{group}/v1/things",
                                     f"/apis/{group}/v1/namespaces/default/things/{name}"]))
    if shape == "version":
        version = "v9" + draw(segment)
        return draw(st.sampled_from([f"/apis/apps/{version}", f"/apis/apps/{version}/deployments",
                                     f"/apis/apps/{version}/namespaces/default/deployments/{name}"]))
    if shape == "core-version":
        version = "v9" + draw(segment)
        return draw(st.sampled_from([f"/api/{version}", f"/api/{version}/pods",
                                     f"/api/{version}/namespaces/default/pods/{name}"]))
    plural = "zz" + draw(segment)
    assert registry.find("apps", "v1", plural) is None and registry.find("", "v1", plural) is None
    if shape == "plural":
        return f"/apis/apps/v1/{plural}"
    if shape == "core-plural":
        return f"/api/v1/{plural}/{name}"
    return f"/api/v1/namespaces/default/{plural}/{name}"


@settings(PROPERTY, max_examples=80)
@given(path=unknown_resource_path(), method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
async def test_unknown_group_version_or_resource(seeded: Seeded, path: str, method: str) -> None:
    kw: dict[str, Any] = {}
    if method in ("POST", "PUT"):
        kw = {"body": configmap("from-nowhere")}
    elif method == "PATCH":
        kw = {"data": "{}", "content_type": "application/merge-patch+json"}
    await expect_failure(seeded, method, path, code=404, reason="NotFound", **kw)


# ---- selectors ---------------------------------------------------------------------------------

BAD_LABEL_SELECTORS = [
    "a in (", "a in b", "a notin (x", "=b", "!a=b", "a=b=c", "a@b=c", "a=(b)",
    "a,,b", ",a", "a=b,", "x" * 64 + "=v", "k=" + "v" * 64, "a gt b", "a lt", "a=b c", "-a=b",
    "a/b/c=d", "!", "a!", "a!=b!=c", "(a)", "a in (b c)", "a=b\x00",
]
BAD_FIELD_SELECTORS = [
    "foo=bar", "metadata.name", "metadata.name in (a)", "=x", "spec.nodeName=n", "status.phase=Running",
    "metadata.labels=x", "metadata.name=a,bogus=b", "metadata.name=a\\", "metadata.name=a\\q",
    "metadata.name>=a", "metadata.name==a==b", "metadata.uid=x",
]


@PROPERTY
@given(bad=st.sampled_from(BAD_LABEL_SELECTORS) | st.builds(lambda g, b: g + "," + b, st.sampled_from(
    ["tier=seed", "app", "!nope", "tier in (seed,other)"]), st.sampled_from(BAD_LABEL_SELECTORS)),
    kind_name=st.sampled_from(KIND_NAMES), verb=st.sampled_from(["list", "watch", "deletecollection"]))
async def test_bad_label_selector(seeded: Seeded, bad: str, kind_name: str, verb: str) -> None:
    await _bad_selector(seeded, "labelSelector", bad, KINDS[kind_name].collection, verb)


@PROPERTY
@given(bad=st.sampled_from(BAD_FIELD_SELECTORS), kind_name=st.sampled_from(["configmap", "deployment", "service"]),
       verb=st.sampled_from(["list", "watch", "deletecollection"]))
async def test_bad_field_selector(seeded: Seeded, bad: str, kind_name: str, verb: str) -> None:
    await _bad_selector(seeded, "fieldSelector", bad, KINDS[kind_name].collection, verb)


@settings(PROPERTY, max_examples=10)
@given(bad=st.sampled_from(["spec.bogus=x", "status.nope=y", "metadata.name in (a)", "spec.nodeName"]),
       verb=st.sampled_from(["list", "watch", "deletecollection"]))
async def test_bad_field_selector_on_pods(seeded: Seeded, bad: str, verb: str) -> None:
    await _bad_selector(seeded, "fieldSelector", bad, PODS, verb)


async def _bad_selector(seeded: Seeded, param: str, value: str, collection: str, verb: str) -> None:
    if verb == "watch":
        await expect_watch_failure(seeded, collection, {param: value})
        return
    method = "GET" if verb == "list" else "DELETE"
    await expect_failure(seeded, method, collection, params={param: value}, code=400, reason="BadRequest")


@settings(PROPERTY, max_examples=100)
@given(text=st.text(max_size=20), param=st.sampled_from(["labelSelector", "fieldSelector"]),
       kind_name=st.sampled_from(KIND_NAMES))
async def test_random_selector_never_500(seeded: Seeded, text: str, param: str, kind_name: str) -> None:
    """Arbitrary selector text: either a list (200) or a 400 Status, never a crash."""
    before = await seeded.snapshot()
    code, body, _ = await seeded.api.get(KINDS[kind_name].collection, params={param: text})
    if code != 200:
        assert_status(code, body, 400, "BadRequest")
    else:
        assert body["kind"].endswith("List"), body
    await seeded.assert_unchanged(before)


# ---- patches -----------------------------------------------------------------------------------

JSON_PATCH_BAD_OPS = [
    {"path": "/metadata/labels/x", "value": "y"},  # no op
    {"op": "bogus", "path": "/metadata/labels/x", "value": "y"},
    {"op": 5, "path": "/metadata/labels/x", "value": "y"},
    {"op": "add", "path": "metadata/labels/x", "value": "y"},  # no leading slash
    {"op": "add", "path": 7, "value": "y"},
    {"op": "remove", "path": "/metadata/zznothere"},
    {"op": "replace", "path": "/spec/zznothere/deeper", "value": 1},
    {"op": "test", "path": "/metadata/name", "value": "not-the-name"},
    {"op": "move", "from": "/metadata/zznothere", "path": "/metadata/labels/y"},
    {"op": "copy", "from": "/nowhere", "path": "/metadata/labels/y"},
    {"op": "add", "path": "/metadata/labels/x"},  # no value
    {"op": "add", "path": "/metadata/finalizers/99", "value": "f"},  # index out of range
    {"op": "remove", "path": "/metadata/labels/~2"},  # bad escape
    {"op": "add", "path": "/metadata/name", "value": {"not": "a string"}},
    {"op": "replace", "path": "/metadata/labels", "value": 5},
    "not an operation",
    ["nested"],
]
GOOD_OP = {"op": "add", "path": "/metadata/labels/patched", "value": "yes"}

def strategic_bad(kind_name: str) -> list[Any]:
    """Strategic merge patches that must be refused, aimed at the kind's own lists."""
    if kind_name == "configmap":
        return [{"$patch": "bogus"}, {"metadata": {"$patch": "bogus"}}, {"data": [1]}, {"data": {"a": 5}},
                {"metadata": {"$deleteFromPrimitiveList/finalizers": "not a list"}}, {"metadata": {"labels": {"a": 5}}}]
    if kind_name == "service":
        lst, key, at = "ports", "port", {"spec": {}}
    else:
        lst, key, at = "containers", "name", ({"spec": {"template": {"spec": {}}}} if kind_name == "deployment"
                                              else {"spec": {}})

    def spec_with(value: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(at)
        inner = doc["spec"]["template"]["spec"] if kind_name == "deployment" else doc["spec"]
        inner.update(value)
        return doc

    return [
        {"$patch": "bogus"},
        {"metadata": {"$patch": "bogus"}},
        spec_with({lst: [{"$patch": "delete"}]}),  # no merge key
        spec_with({lst: [{"$patch": "bogus", key: "web" if key == "name" else 80}]}),
        spec_with({f"$setElementOrder/{lst}": "not a list"}),
        spec_with({lst: "not a list"}),
        spec_with({lst: [5]}),
        {"spec": {"$retainKeys": 5}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "not a list"}},
        {"metadata": {"labels": {"a": 5}}},
        {"spec": 7},
    ]


@st.composite
def bad_json_patch(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["ops", "not-a-list", "scalar"]))
    if shape == "not-a-list":
        return draw(st.dictionaries(st.text(max_size=4), json_scalars, max_size=3))
    if shape == "scalar":
        return draw(st.sampled_from([[[]], [None], [1, 2]]))
    good = draw(st.lists(st.just(GOOD_OP), max_size=2))
    bad = draw(st.sampled_from(JSON_PATCH_BAD_OPS))
    return [*good, bad]  # the good ops before it must not be applied either


@settings(PROPERTY, max_examples=80)
@given(data=st.data(), kind_name=st.sampled_from(KIND_NAMES),
       ptype=st.sampled_from(["json", "merge", "strategic", "apply"]))
async def test_bad_patch_body(seeded: Seeded, data: st.DataObject, kind_name: str, ptype: str) -> None:
    kind = KINDS[kind_name]
    params = {"fieldManager": "x"}
    if ptype == "json":
        body = data.draw(bad_json_patch(), label="json patch")
        ctype = "application/json-patch+json"
    elif ptype == "merge":
        top = "data" if kind_name == "configmap" else "spec"
        body = data.draw(st.sampled_from([[], [GOOD_OP], "text", 5, {"metadata": {"labels": {"a": 5}}},
                                          {top: 7}, {top: [1]}, {"metadata": {"name": {"x": 1}}},
                                          {"kind": "Other"}, {"apiVersion": "v0"}]), label="merge patch")
        ctype = "application/merge-patch+json"
    elif ptype == "strategic":
        body = data.draw(st.sampled_from(strategic_bad(kind_name)) | st.sampled_from([[], [GOOD_OP], 5, "x"]),
                         label="strategic patch")
        ctype = "application/strategic-merge-patch+json"
    else:
        template = copy.deepcopy(kind.template)
        body = data.draw(st.sampled_from([
            [1, 2], "just a string", 42,
            set_at(template, ("metadata", "name"), {"x": 1}),
            set_at(template, ("metadata", "labels"), ["a"]),
            set_at(template, ("kind",), "Other"),
            set_at(template, ("apiVersion",), "nope/v9"),
        ]), label="apply patch")
        ctype = "application/apply-patch+yaml"
        body_text = body if isinstance(body, str) else yaml.safe_dump(body)
        await expect_failure(seeded, "PATCH", one_path(kind), data=body_text.encode(), content_type=ctype,
                             params=params)
        return
    await expect_failure(seeded, "PATCH", one_path(kind), data=json.dumps(body), content_type=ctype,
                         params=params)


@pytest.mark.parametrize("ptype", ["merge", "strategic", "json", "apply"])
async def test_patch_that_renames(seeded: Seeded, ptype: str) -> None:
    kind = KINDS["configmap"]
    if ptype == "json":
        data = json.dumps([{"op": "replace", "path": "/metadata/name", "value": "renamed"}])
        ctype = "application/json-patch+json"
    elif ptype == "apply":
        data = yaml.safe_dump(set_at(kind.template, ("metadata", "name"), "renamed"))
        ctype = "application/apply-patch+yaml"
    else:
        data = json.dumps({"metadata": {"name": "renamed"}})
        ctype = f"application/{'strategic-' if ptype == 'strategic' else ''}merge-patch+json"
    body = await expect_failure(seeded, "PATCH", one_path(kind), data=data, content_type=ctype,
                                params={"fieldManager": "x"})
    assert body["code"] in (400, 422), body


async def test_apply_without_field_manager(seeded: Seeded) -> None:
    kind = KINDS["configmap"]
    body = await expect_failure(seeded, "PATCH", one_path(kind), data=yaml.safe_dump(kind.template),
                                content_type="application/apply-patch+yaml")
    assert body["code"] in (400, 422) and "fieldManager" in body["message"], body


@settings(PROPERTY, max_examples=20)
@given(ctype=st.sampled_from(["text/plain", "application/xml", "application/x-www-form-urlencoded",
                              "application/vnd.kubernetes.protobuf", "image/png"]))
async def test_patch_with_unknown_content_type(seeded: Seeded, ctype: str) -> None:
    await expect_failure(seeded, "PATCH", one_path(KINDS["configmap"]), data=b"{}", content_type=ctype,
                         code=415, reason="UnsupportedMediaType")


# ---- query values ------------------------------------------------------------------------------

not_an_int = st.text(max_size=8).filter(lambda s: s.strip() != "" and not _is_int(s))


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


@PROPERTY
@given(value=not_an_int, kind_name=st.sampled_from(KIND_NAMES))
async def test_limit_not_a_number(seeded: Seeded, value: str, kind_name: str) -> None:
    await expect_failure(seeded, "GET", KINDS[kind_name].collection, params={"limit": value}, code=400,
                         reason="BadRequest")


@pytest.mark.parametrize("value", ["x", "nan", "1.5", "1e400", "ten"])
async def test_watch_timeout_seconds_not_an_integer(seeded: Seeded, value: str) -> None:
    before = await seeded.snapshot()
    code, body = await watch_lines(seeded.api, CM, {"timeoutSeconds": value}, deadline=4)
    assert_status(code, body, 400, "BadRequest")
    await seeded.assert_unchanged(before)


@settings(PROPERTY, max_examples=30)
@given(value=not_an_int.filter(lambda s: s.strip() != "0"), kind_name=st.sampled_from(KIND_NAMES))
async def test_watch_resource_version_not_a_number(seeded: Seeded, value: str, kind_name: str) -> None:
    await expect_watch_failure(seeded, KINDS[kind_name].collection, {"resourceVersion": value})


@settings(PROPERTY, max_examples=20)
@given(value=not_an_int.filter(lambda s: s.strip() != "0"))
async def test_list_exact_resource_version_not_a_number(seeded: Seeded, value: str) -> None:
    await expect_failure(seeded, "GET", CM, params={"resourceVersion": value, "resourceVersionMatch": "Exact"},
                         code=400, reason="BadRequest")


@PROPERTY
@given(token=st.text(max_size=30) | st.binary(max_size=30).map(lambda b: __import__("base64").urlsafe_b64encode(b)
                                                                .decode()),
       kind_name=st.sampled_from(KIND_NAMES))
async def test_bad_continue_token(seeded: Seeded, token: str, kind_name: str) -> None:
    if not token:
        return
    body = await expect_failure(seeded, "GET", KINDS[kind_name].collection, params={"continue": token})
    assert body["reason"] in ("BadRequest", "Expired", "Gone"), body


@st.composite
def bad_write_query(draw: st.DrawFn) -> dict[str, str]:
    key = draw(st.sampled_from(["dryRun", "fieldValidation"]))
    if key == "dryRun":
        value = draw(st.sampled_from(["Bogus", "all", "true", "1"]) | st.text(min_size=1, max_size=6))
        return {key: value} if value != "All" else {key: "Bogus"}
    value = draw(st.sampled_from(["Bogus", "strict", "STRICT", "warn", "none"]) | st.text(min_size=1, max_size=6))
    return {key: value} if value not in ("Strict", "Warn", "Ignore") else {key: "Bogus"}


@settings(PROPERTY, max_examples=60)
@given(query=bad_write_query(), kind_name=st.sampled_from(KIND_NAMES),
       how=st.sampled_from(["POST", "PUT", "PATCH"]))
async def test_bad_write_query_values(seeded: Seeded, query: dict[str, str], kind_name: str, how: str) -> None:
    kind = KINDS[kind_name]
    if how == "POST":
        await expect_failure(seeded, "POST", kind.collection, body=set_at(kind.template, ("metadata", "name"), "q"),
                             params=query, code=400, reason="BadRequest")
    elif how == "PUT":
        await expect_failure(seeded, "PUT", one_path(kind), body=seeded.stored[kind_name], params=query,
                             code=400, reason="BadRequest")
    else:
        await expect_failure(seeded, "PATCH", one_path(kind), data=json.dumps({"metadata": {"labels": {"q": "1"}}}),
                             content_type="application/merge-patch+json", params=query, code=400,
                             reason="BadRequest")


@settings(PROPERTY, max_examples=30)
@given(query=st.one_of(
    st.fixed_dictionaries({"gracePeriodSeconds": not_an_int}),
    st.fixed_dictionaries({"propagationPolicy": st.sampled_from(["Bogus", "orphan", "background", "x"])}),
), kind_name=st.sampled_from(KIND_NAMES))
async def test_bad_delete_query_values(seeded: Seeded, query: dict[str, str], kind_name: str) -> None:
    await expect_failure(seeded, "DELETE", one_path(KINDS[kind_name]), params=query, code=400, reason="BadRequest")


@settings(PROPERTY, max_examples=10)
@given(value=st.sampled_from(["Bogus", "all", "true"]), kind_name=st.sampled_from(KIND_NAMES),
       collection=st.booleans())
async def test_bad_delete_dry_run(seeded: Seeded, value: str, kind_name: str, collection: bool) -> None:
    kind = KINDS[kind_name]
    path = kind.collection if collection else one_path(kind)
    await expect_failure(seeded, "DELETE", path, params={"dryRun": value})


@settings(PROPERTY, max_examples=30)
@given(body=st.sampled_from([
    {"propagationPolicy": "Bogus"}, {"preconditions": {"uid": "not-the-uid"}},
    {"preconditions": {"resourceVersion": "1"}}, {"gracePeriodSeconds": -5, "propagationPolicy": 3},
]), kind_name=st.sampled_from(KIND_NAMES))
async def test_bad_delete_options_body(seeded: Seeded, body: dict[str, Any], kind_name: str) -> None:
    await expect_failure(seeded, "DELETE", one_path(KINDS[kind_name]), body=body)


@settings(PROPERTY, max_examples=20)
@given(value=st.sampled_from(["Bogus", "None ", "object", "metadata"]))
async def test_bad_include_object(seeded: Seeded, value: str) -> None:
    await expect_failure(seeded, "GET", CM, params={"includeObject": value},
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
                         code=400, reason="BadRequest")


# ---- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["port", "replicas", "targetPort"])
async def test_integral_float_in_integer_field(seeded: Seeded, where: str) -> None:
    if where == "replicas":
        body, path = set_at(deployment("float-replicas"), ("spec", "replicas"), 2.0), DEPLOYS
    else:
        body, path = set_at(service("float-port"), ("spec", "ports", 0, where), 2.0), SVCS
    code, resp, raw = await seeded.api.post(path, body)
    if code < 300:  # accepted: then it must at least be stored and served as an integer
        assert "2.0" not in (await raw.text()), resp
    else:
        assert_status(code, resp, 400, "BadRequest")


async def test_int_or_string_out_of_int32_range(seeded: Seeded) -> None:
    d = deployment("huge-surge")
    d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2**40}}
    await expect_failure(seeded, "POST", DEPLOYS, body=d)
