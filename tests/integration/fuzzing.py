"""Hypothesis strategies for requests to the served API (tests/integration/test_fuzz.py): any path the
discovery documents name (collections, objects, subresources, watch paths) and paths nobody serves,
every verb, bodies from the valid sample of the path's kind broken in a few places (wrong types,
unknown fields, huge and unicode strings, another namespace), random JSON and non-JSON, patches of
each patch type gone wrong, and the query parameters clients send with good and bad values.

Names beginning with `seed` are never drawn: the test keeps the objects there to check that nothing
it sent touched them."""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.integration.samples import sample

PROTECTED = "seed"  # the namespace, and the prefix of the cluster-scoped names, the fuzzer never names
NAMESPACES = ("default", "fuzz")
NAMES = ("fuzz-a", "fuzz-b", "kubernetes", "default")


@dataclass(frozen=True)
class Resource:
    """One entry of a served APIResourceList."""

    prefix: str  # /api/v1 or /apis/GROUP/VERSION
    plural: str
    namespaced: bool
    kind: str
    api_version: str
    verbs: tuple[str, ...]
    subresources: tuple[str, ...]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # already percent-encoded
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")

    def params(self) -> dict[str, str]:
        return dict(self.query)

    def __repr__(self) -> str:
        body = self.body[:300] if self.body else self.body
        return f"{self.method} {self.url} headers={dict(self.headers)} body={body!r}"


# ---- values ------------------------------------------------------------------------------------

unicode_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "💥", "-", "\u202e"]), st.integers(250, 70_000))
weird_ints = st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 2**64, 10**30]) | st.integers()
scalars = (st.none() | st.booleans() | weird_ints | st.floats(allow_nan=False) | unicode_text
           | st.sampled_from(["", "0", "true", "null", "{}", "[]", "1Gi", "-1", "1e400", "NaN", "\ud800", "a\x00b",
                              "\u202e", "x\ny"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(unicode_text, inner, max_size=3), max_leaves=8)
good_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20).map(
    lambda t: f"f{t}0")  # a DNS-1123 label (from_regex would cost Hypothesis much more per draw)
names = (st.sampled_from(NAMES) | good_names | unicode_text | huge_text
         | st.sampled_from(["..", ".", "a.b", "UPPER", "a_b", "a b", "a/b", "%", "-a", "a" * 64, "a" * 254,
                            "a" * 253, "x:y", "\x00", "café"]))


def safe_name(name: str) -> bool:
    return not name.lower().startswith(PROTECTED) and name not in ("", ".", "..")


drawn_names = names.filter(safe_name)
namespaces = st.sampled_from(NAMESPACES) | drawn_names


def segment(text: str) -> str:
    return quote(text, safe="")


# ---- query parameters --------------------------------------------------------------------------

selector_keys = st.sampled_from(["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "app",
                                 "type", "involvedObject.name", "spec.unknown", ""])
selectors = st.builds(lambda k, op, v: f"{k}{op}{v}", selector_keys,
                      st.sampled_from(["=", "==", "!=", " in ", " notin ", ">", "<", "", "=(", ",", "in (a,b)"]),
                      names) | unicode_text | st.sampled_from(["a=b,c!=d", "!a", "a in (b", "a,,b", "=", "a=b=c",
                                                               "x in ()", "a notin (b,c)", "metadata.name=="])
booleans = st.sampled_from(["true", "false", "1", "0", "True", "yes", "", "maybe"])
ints = st.sampled_from(["0", "-1", "1", "5", "2147483648", "9223372036854775808", "1e3", "x", "", "1.5"]) | \
    weird_ints.map(str)
continues = (unicode_text | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
             | json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode())
             | st.builds(lambda rv, start: base64.urlsafe_b64encode(json.dumps(
                 {"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()).decode(), json_values, json_values))
QUERY = {
    "resourceVersion": ints | st.sampled_from(["", "abc"]),
    "resourceVersionMatch": st.sampled_from(["Exact", "NotOlderThan", "exact", "", "bogus"]),
    "limit": ints,
    "continue": continues,
    "labelSelector": selectors,
    "fieldSelector": selectors,
    "watch": booleans,
    "allowWatchBookmarks": booleans,
    "sendInitialEvents": booleans,
    "timeoutSeconds": ints,
    "dryRun": st.sampled_from(["All", "all", "", "None", "x"]),
    "fieldManager": names,
    "fieldValidation": st.sampled_from(["Strict", "Warn", "Ignore", "", "strict", "x"]),
    "force": booleans,
    "propagationPolicy": st.sampled_from(["Orphan", "Background", "Foreground", "", "x"]),
    "gracePeriodSeconds": ints,
    "orphanDependents": booleans,
    "pretty": booleans,
    "includeObject": st.sampled_from(["None", "Metadata", "Object", "x"]),
    "container": names,
    "follow": booleans,
    "previous": booleans,
    "tailLines": ints,
    "sinceSeconds": ints,
    "sinceTime": st.sampled_from(["2026-12-03T10:00:00Z", "x", "", "2026-13-45T99:99:99Z"]),
    "limitBytes": ints,
    "timestamps": booleans,
    "command": unicode_text,
    "stdin": booleans,
    "stdout": booleans,
    "stderr": booleans,
    "tty": booleans,
    "ports": ints,
}
query_params = st.lists(st.sampled_from(sorted(QUERY)).flatmap(lambda k: st.tuples(st.just(k), QUERY[k]))
                        | st.tuples(unicode_text, unicode_text), max_size=4)

ACCEPT = ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io",
          "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
          "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v9;g=x",
          "application/vnd.kubernetes.protobuf", "application/yaml", "*/*", "text/html", "garbage;;=",
          "application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io",
          "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"]
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/apply-patch+cbor"]
BODY_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "text/plain", ""]


# ---- bodies --------------------------------------------------------------------------------------

def _places(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _places(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _places(v, (*path, i))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    if not path:
        return value
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    if delete:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return obj


METADATA = {
    "namespace": st.sampled_from([PROTECTED, "default", "", "fuzz"]) | names,
    "labels": st.dictionaries(names, names, max_size=3) | json_values,
    "annotations": st.dictionaries(names, unicode_text | huge_text, max_size=2) | json_values,
    "finalizers": st.lists(names, max_size=3) | json_values,
    "ownerReferences": st.lists(st.fixed_dictionaries({"apiVersion": names, "kind": names, "name": names,
                                                       "uid": names}), max_size=2) | json_values,
    "resourceVersion": ints | json_values,
    "generateName": names,
    "uid": names,
    "deletionTimestamp": st.sampled_from(["2026-12-03T10:00:00Z", "x"]) | json_values,
    "managedFields": json_values | st.just([{"manager": "x", "operation": "Bogus", "fieldsType": "FieldsV9",
                                            "fieldsV1": {"f:x": 5}}]),
    "name": names,
}


@st.composite
def broken_object(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A valid sample broken in a few places (or left valid: the valid path must not fail either)."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["value", "delete", "unknown", "metadata", "kind"]))
        places = _places(obj)
        if how == "metadata" and isinstance(obj, dict):
            field = draw(st.sampled_from(sorted(METADATA)))
            md = obj.get("metadata")
            if isinstance(md, dict):
                md[field] = draw(METADATA[field])
        elif how == "kind" and isinstance(obj, dict):
            obj[draw(st.sampled_from(["kind", "apiVersion"]))] = draw(
                st.sampled_from(["Pod", "v1", "apps/v1", "", "Status", "List"]) | json_values)
        elif how == "value":
            obj = _set(obj, draw(st.sampled_from(places)), draw(json_values | huge_text))
        elif how == "delete":
            keyed = [p for p in places if p and isinstance(p[-1], str)]
            if keyed:
                obj = _set(obj, draw(st.sampled_from(keyed)), None, delete=True)
        else:
            dicts = [p for p in places if isinstance(_get(obj, p), dict)]
            if dicts:
                target = _get(obj, draw(st.sampled_from(dicts)))
                target[draw(unicode_text)] = draw(json_values)
    return obj


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        obj = obj[p]
    return obj


json_patch_ops = st.lists(st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]),
     "path": st.sampled_from(["/metadata/labels/a", "/metadata/name", "/spec", "/spec/replicas", "/data/a",
                              "/metadata/labels/a~1b", "/spec/containers/0/image", "/spec/containers/-",
                              "", "/", "/metadata/finalizers/99", "no-slash", "/metadata/namespace",
                              "/metadata/resourceVersion", "/status", "/kind"]) | unicode_text},
    optional={"value": json_values, "from": st.sampled_from(["/metadata/labels", "/x", ""])}), max_size=4)
strategic_directives = st.fixed_dictionaries({}, optional={
    "$patch": st.sampled_from(["replace", "delete", "merge", "bogus"]) | json_values,
    "$retainKeys": json_values, "$setElementOrder/containers": json_values,
    "$deleteFromPrimitiveList/finalizers": json_values, "metadata": json_values, "spec": json_values,
    "data": json_values})


def _dump(value: Any, ctype: str) -> bytes:
    if "yaml" in ctype:
        import yaml

        return yaml.safe_dump(value, allow_unicode=True).encode()
    return json.dumps(value).encode()


def raw_bytes() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=64) | st.sampled_from([b"", b"{", b"[]", b"null", b"42", b'"x"', b"k8s\x00\x0a\x02",
                                                      b"{\"a\":" * 200, b"\xff\xfe", b"---\n- a\n: b"])


@st.composite
def body_for(draw: st.DrawFn, method: str, kind_sample: dict[str, Any] | None) -> tuple[bytes | None, str]:
    """(body, Content-Type) for a request."""
    if method in ("GET", "HEAD", "OPTIONS") or (method == "DELETE" and draw(st.booleans())):
        return None, ""
    if method == "DELETE":
        options = st.fixed_dictionaries({}, optional={
            "kind": st.just("DeleteOptions"), "apiVersion": st.sampled_from(["v1", "meta.k8s.io/v1", "x"]),
            "propagationPolicy": json_values, "gracePeriodSeconds": json_values, "dryRun": json_values,
            "preconditions": json_values, "orphanDependents": json_values})
        return _dump(draw(options | json_values), "json"), "application/json"
    if method == "PATCH":
        ctype = draw(st.sampled_from(PATCH_TYPES) | st.sampled_from(BODY_TYPES))
        if "json-patch" in ctype:
            value: Any = draw(json_patch_ops | json_values)
        elif kind_sample is not None and draw(st.booleans()):
            value = draw(broken_object(kind_sample))
        else:
            value = draw(strategic_directives | json_values)
        if draw(st.integers(0, 9)) == 0:
            return draw(raw_bytes()), ctype
        return _dump(value, ctype), ctype
    ctype = draw(st.sampled_from(["application/json"] * 4 + BODY_TYPES))
    roll = draw(st.integers(0, 9))
    if roll == 0:
        return draw(raw_bytes()), ctype
    if roll <= 2 or kind_sample is None:
        return _dump(draw(json_values), ctype), ctype
    return _dump(draw(broken_object(kind_sample)), ctype), ctype


# ---- paths -------------------------------------------------------------------------------------

SUB_BODIES: dict[str, dict[str, Any]] = {
    "scale": {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "fuzz-a"},
              "spec": {"replicas": 2}},
    "eviction": {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "fuzz-a"}},
    "binding": {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "fuzz-a"},
                "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}},
    "token": {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["x"]}},
}
OTHER_PATHS = ["/", "/api", "/apis", "/version", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1",
               "/openapi/v3/apis/apps/v1", "/openapi/v3/apis/nope/v1", "/openapi/v3/x", "/healthz", "/livez",
               "/readyz", "/metrics", "/api/v1", "/apis/apps", "/apis/apps/v1", "/apis/nope", "/api/v9",
               "/api/v1/namespaces/default/nothings", "/apis/apps/v1/namespaces", "/api/v1/namespaces//pods",
               "/api/v1/namespaces/default/pods/x/y/z", "/api/v1/watch", "/apis/metrics.k8s.io/v1beta1",
               "/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
               "/apis/metrics.k8s.io/v1beta1/nodes/x", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/x",
               "/api/v1/namespaces/default/pods/%2e%2e", "/apis/apps/v1/deployments/../../..",
               "/api/v1/nodes/x/proxy/a/b", "/api/v1/namespaces/default/services/x/proxy"]


@st.composite
def resource_request(draw: st.DrawFn, resources: list[Resource]) -> Request:
    res = draw(st.sampled_from(resources))
    method = draw(st.sampled_from(["GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
    ns = draw(namespaces) if res.namespaced else ""
    scope = f"{res.prefix}/namespaces/{segment(ns)}" if res.namespaced else res.prefix
    name = draw(st.sampled_from(NAMES) | drawn_names)
    shape = draw(st.sampled_from(["collection", "object", "object", "sub", "all", "watch"]))
    sub = draw(st.sampled_from(res.subresources)) if res.subresources and shape == "sub" else ""
    if shape == "collection" or (shape == "all" and not res.namespaced):
        if method == "DELETE" and not res.namespaced:
            method = "GET"  # a deletecollection over a cluster scope would delete the protected objects
        path = f"{scope}/{res.plural}"
    elif shape == "all":
        path = f"{res.prefix}/{res.plural}"
    elif shape == "watch":
        path = f"{res.prefix}/watch/{res.plural}" if not res.namespaced else \
            f"{res.prefix}/watch/namespaces/{segment(ns)}/{res.plural}"
        path += draw(st.sampled_from(["", f"/{segment(name)}"]))
    else:
        path = f"{scope}/{res.plural}/{segment(name)}" + (f"/{sub}" if sub else "")
    kind_sample = None
    if method in ("POST", "PUT", "PATCH"):
        if sub in SUB_BODIES:
            kind_sample = SUB_BODIES[sub]
        else:
            try:
                kind_sample = sample(res.kind, res.api_version, name)
            except KeyError:
                kind_sample = {"apiVersion": res.api_version, "kind": res.kind, "metadata": {"name": name}}
            if res.namespaced:
                kind_sample["metadata"]["namespace"] = ns
    return _finish(draw, method, path, kind_sample)


# Impersonation (the admin may impersonate anyone: RBAC then judges the request as that user), bad
# credentials, and headers the HTTP layer reads
EXTRA_HEADERS = st.one_of(
    st.tuples(st.just("Impersonate-User"), st.sampled_from(["jane", "system:anonymous", "system:admin",
                                                            "system:serviceaccount:default:default",
                                                            "system:serviceaccount:x", "", "system:node:n1"])
              | names.filter(str.isascii)),
    st.tuples(st.just("Impersonate-Group"), st.sampled_from(["system:masters", "system:authenticated", "g", ""])),
    st.tuples(st.just("Impersonate-Uid"), st.sampled_from(["1234", ""])),
    st.tuples(st.sampled_from(["Impersonate-Extra-scopes", "Impersonate-Extra-a%2Fb", "Impersonate-Extra-"]),
              st.sampled_from(["view", "", "x y"])),
    st.tuples(st.just("Authorization"), st.sampled_from(["Bearer wrong", "Bearer ", "Basic eDp5", "bearer",
                                                         "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30."])),
    st.sampled_from([("Content-Encoding", "gzip"), ("Accept-Encoding", "gzip"), ("Upgrade", "websocket"),
                     ("Connection", "Upgrade"), ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
                     ("Sec-WebSocket-Protocol", "v5.channel.k8s.io"), ("User-Agent", "kubectl/v1.32 (fuzz)"),
                     ("User-Agent", "")]),
)


def _finish(draw: st.DrawFn, method: str, path: str, kind_sample: dict[str, Any] | None) -> Request:
    body, ctype = draw(body_for(method, kind_sample))
    headers: list[tuple[str, str]] = []
    if ctype:
        headers.append(("Content-Type", ctype))
    if draw(st.integers(0, 3)) == 0:
        headers.append(("Accept", draw(st.sampled_from(ACCEPT))))
    if draw(st.integers(0, 5)) == 0:
        headers += draw(st.lists(EXTRA_HEADERS, min_size=1, max_size=3))
    return Request(method, path, tuple(draw(query_params)), tuple(headers), body)


CLUSTER_COLLECTION = re.compile(r"^/api/[^/]+/[^/]+/?$|^/apis/[^/]+/[^/]+/[^/]+/?$")


@st.composite
def other_request(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]))
    path = draw(st.sampled_from(OTHER_PATHS) | st.lists(
        st.sampled_from(["api", "apis", "v1", "namespaces", "default", "pods", "apps", "watch", "status", "x"])
        | drawn_names.map(segment), min_size=1, max_size=7).map(lambda segs: "/" + "/".join(segs)))
    if method == "DELETE" and CLUSTER_COLLECTION.match(path):
        method = "GET"  # a deletecollection over a cluster scope would delete the protected objects
    return _finish(draw, method, path, None)


STREAM_QUERY = ["container", "follow", "previous", "tailLines", "sinceSeconds", "sinceTime", "limitBytes",
                "timestamps", "command", "stdin", "stdout", "stderr", "tty", "ports"]
WS_KEY = base64.b64encode(b"0123456789abcdef").decode()
UPGRADES = [
    (),
    (("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
     ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Protocol", "v5.channel.k8s.io")),
    (("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
     ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Protocol", "v4.channel.k8s.io")),
    (("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
     ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Protocol", "SPDY/3.1+portforward.k8s.io")),
    (("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")),  # no key
    (("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", "v4.channel.k8s.io")),
    (("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("X-Stream-Protocol-Version", "portforward.k8s.io")),
]


VALID_STREAM_QUERY = {
    "log": (("container", "main"),), "exec": (("command", "ls"), ("stdout", "true"), ("container", "main")),
    "attach": (("stdout", "true"), ("container", "main")), "portforward": (("ports", "80"),),
}


@st.composite
def stream_request(draw: st.DrawFn) -> Request:
    """The streams of a pod that runs (`fuzz/fuzz-a`, on the simulated node): log, exec, attach and
    port-forward, as clients open them or not quite."""
    sub = draw(st.sampled_from(["log", "exec", "attach", "portforward"]))
    name = draw(st.sampled_from(["fuzz-a", "fuzz-a", "fuzz-b"]))
    method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "PUT", "DELETE"]))
    query = list(VALID_STREAM_QUERY[sub]) if draw(st.booleans()) else []
    query += draw(st.lists(st.sampled_from(STREAM_QUERY).flatmap(lambda k: st.tuples(st.just(k), QUERY[k])),
                           max_size=3))
    headers = draw(st.sampled_from(UPGRADES[:4] if query[:1] == list(VALID_STREAM_QUERY[sub])[:1] else UPGRADES))
    return Request(method, f"/api/v1/namespaces/fuzz/pods/{name}/{sub}", tuple(query), headers, None)


def requests(resources: list[Resource]) -> st.SearchStrategy[Request]:
    return st.one_of(resource_request(resources), resource_request(resources), resource_request(resources),
                     resource_request(resources), other_request(), stream_request())

