"""Label and field selectors: parsing, matching, and upstream error wording."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boxk8s.errors import BadRequest
from boxk8s.resources.selectors import (
    format_label_selector,
    format_labels,
    label_selector_matches,
    parse_field_selector,
    parse_label_selector,
    selector_to_string,
)

LABELS = {"app": "web", "tier": "front", "n": "5"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", LABELS, True),
        ("app=web", LABELS, True),
        ("app==web", LABELS, True),
        ("app=db", LABELS, False),
        ("app!=db", LABELS, True),
        ("missing!=x", LABELS, True),
        ("app in (web,db)", LABELS, True),
        ("app in (db)", LABELS, False),
        ("app notin (db)", LABELS, True),
        ("missing notin (db)", LABELS, True),
        ("app", LABELS, True),
        ("missing", LABELS, False),
        ("!missing", LABELS, True),
        ("!app", LABELS, False),
        ("app=web,tier=front", LABELS, True),
        ("app=web, tier=back", LABELS, False),
        ("n>3", LABELS, True),
        ("n<3", LABELS, False),
        ("x in (in,notin)", {"x": "in"}, True),
        ("missing=", {}, False),
        ("empty=", {"empty": ""}, True),
        ("example.com/role=db", {"example.com/role": "db"}, True),
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text)(labels) is expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("b=1,a=2", "a=2,b=1"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("!a", "!a"),
        ("a == b", "a==b"),
        ("a in (c, b)", "a in (b,c)"),
    ],
)
def test_label_selector_string_is_canonical(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("=b", "found '=', expected: !, identifier, or 'end of string'"),
        ("a in", "unable to parse requirement: found '' expected: '('"),
        ("a (b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
        ("-a=b", 'unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of'),
        ("k=v@", 'unable to parse requirement: values[0][k]: Invalid value: "v@": a valid label must be'),
    ],
)
def test_label_selector_errors_use_upstream_wording(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_label_selector(text)
    assert info.value.message.startswith(message)
    assert info.value.status()["reason"] == "BadRequest"


@given(st.dictionaries(st.from_regex(r"[a-z]([a-z0-9]{0,8})", fullmatch=True),
                       st.from_regex(r"[a-z0-9]{0,8}", fullmatch=True), max_size=4))
def test_equality_selector_from_labels_matches_them(labels: dict[str, str]) -> None:
    text = ",".join(f"{k}={v}" for k, v in labels.items())
    assert parse_label_selector(text)(labels)
    assert str(parse_label_selector(str(parse_label_selector(text)))) == str(parse_label_selector(text))


EXPRESSIONS = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "edge"]},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
        {"key": "owner", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ],
}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"any": "thing"}, True),
        ({}, {}, True),
        (None, {"app": "web"}, False),
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        (EXPRESSIONS, {"app": "web", "tier": "edge", "owner": "me"}, True),
        (EXPRESSIONS, {"app": "web", "tier": "edge", "owner": "me", "env": "prod"}, False),
        (EXPRESSIONS, {"app": "web", "tier": "back", "owner": "me"}, False),
        (EXPRESSIONS, {"app": "web", "tier": "edge"}, False),
        (EXPRESSIONS, {"app": "web", "tier": "edge", "owner": "me", "legacy": ""}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "b"}, False),
    ],
)
def test_label_selector_object_matches(selector: dict[str, Any] | None, labels: dict[str, str],
                                       expected: bool) -> None:
    assert label_selector_matches(selector, labels) is expected


def test_selector_to_string() -> None:
    assert selector_to_string(EXPRESSIONS) == "app=web,env notin (prod),!legacy,owner,tier in (edge,front)"
    assert selector_to_string({}) == ""
    assert format_label_selector({}) == "<none>"
    assert format_label_selector(None) == "<none>"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}) == "<error>"
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert format_labels({}) == "<none>"


POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "restartPolicy": "Always", "serviceAccountName": "default"},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
EVENT = {
    "metadata": {"name": "web-1.17", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u1"},
    "reason": "Started", "type": "Normal", "source": {"component": "kubelet"},
}
NEW_EVENT = {"metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "web-1"},
             "reportingController": "kubelet", "type": "Warning"}


@pytest.mark.parametrize(
    ("kind", "text", "obj", "expected"),
    [
        ("Pod", "", POD, True),
        ("Pod", "metadata.name=web-1", POD, True),
        ("Pod", "metadata.name==web-2", POD, False),
        ("Pod", "metadata.namespace!=kube-system", POD, True),
        ("Pod", "spec.nodeName=node-a,status.phase=Running", POD, True),
        ("Pod", "spec.nodeName=", POD, False),
        ("Pod", "spec.nodeName=", {"metadata": {"name": "p"}}, True),
        ("Pod", "spec.host=node-a", POD, True),
        ("Pod", "spec.hostNetwork=false", POD, True),
        ("Pod", "status.podIP=10.0.0.5", POD, True),
        ("Pod", "spec.restartPolicy=Always,spec.serviceAccountName=default", POD, True),
        ("Event", "involvedObject.kind=Pod,involvedObject.name=web-1", EVENT, True),
        ("Event", "involvedObject.uid=u1,reason=Started,type=Normal,source=kubelet", EVENT, True),
        ("Event", "type=Warning", EVENT, False),
        ("Event", "involvedObject.name=web-1,reportingComponent=kubelet", NEW_EVENT, True),
        ("Secret", "type=kubernetes.io/tls", {"type": "kubernetes.io/tls"}, True),
        ("Node", "spec.unschedulable=false", {"spec": {}}, True),
        ("Node", "spec.unschedulable=true", {"spec": {"unschedulable": True}}, True),
        ("Namespace", "status.phase=Active", {"status": {"phase": "Active"}}, True),
        ("ReplicaSet", "status.replicas=0", {"status": {}}, True),
        ("Job", "status.successful=1", {"status": {"succeeded": 1}}, True),
        ("ConfigMap", "metadata.name=a\\,b", {"metadata": {"name": "a,b"}}, True),
    ],
)
def test_field_selector_matches(kind: str, text: str, obj: dict[str, Any], expected: bool) -> None:
    assert parse_field_selector(text, kind)(obj) is expected


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("Pod", "spec.foo=bar", "field label not supported: spec.foo"),
        ("Node", "metadata.namespace=x", "field label not supported: metadata.namespace"),
        ("Event", "involvedObject.foo=x", "field label not supported: involvedObject.foo"),
        ("ConfigMap", "data.x=y",
         '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("Deployment", "spec.replicas=1",
         '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("Pod", "status.phase", "invalid selector: 'status.phase'; can't understand 'status.phase'"),
        ("Pod", "metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("Pod", "metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
    ],
)
def test_field_selector_errors(kind: str, text: str, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_field_selector(text, kind)
    assert info.value.message == message


def test_field_selector_string() -> None:
    assert str(parse_field_selector("status.phase=Running,metadata.name!=a\\,b", "Pod")) == (
        "metadata.name!=a\\,b,status.phase=Running"
    )
