"""The ApplySet as kubectl writes it (KEP-3659).

The ID is checked against a value computed here from the specification's own words, not from the
code under test: "the base64 encoding (using the URL safe encoding of RFC4648) of the hash of the
group-kind-name-namespace of the object it is on, in the form:
`<base64(sha256(<name>.<namespace>.<kind>.<group>))>`", with the `applyset-…-v1` wrapper of
V1ApplySetIdFormat (kubernetes/enhancements keps/sig-cli/3659-kubectl-apply-prune, "ApplySet
specification"; kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/apply/applyset.go,
ApplySet.ID, which uses base64.RawURLEncoding: no padding).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from boxk8s.devloop import applyset
from boxk8s.devloop.applyset import ApplySetParent


def kep_id(name: str, namespace: str, kind: str, group: str) -> str:
    gknn = f"{name}.{namespace}.{kind}.{group}".encode()
    encoded = base64.b64encode(hashlib.sha256(gknn).digest(), altchars=b"-_").decode()  # RFC 4648 §5
    return f"applyset-{encoded.rstrip('=')}-v1"


@pytest.mark.parametrize(("name", "namespace", "kind", "group"), [
    ("boxk8s-demo", "default", "Secret", ""),  # what the dev loop uses
    ("set", "kube-system", "ConfigMap", ""),
    ("sgs", "", "WorkspaceSet", "sgs.snucse.org"),  # a cluster-scoped custom parent
])
def test_the_id_is_the_kep_hash(name: str, namespace: str, kind: str, group: str) -> None:
    got = applyset.applyset_id(name, namespace, kind, group)
    assert got == kep_id(name, namespace, kind, group)
    # a valid label value: at most 63 characters, alphanumeric at both ends, no padding
    assert len(got) <= 63 and re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", got), got
    assert "=" not in got and "+" not in got and "/" not in got


def test_a_known_id() -> None:
    # computed outside Python: printf %s boxk8s-demo.default.Secret. | openssl dgst -sha256 -binary |
    #   openssl base64 -A | tr '+/' '-_' | tr -d =
    assert ApplySetParent.for_project("demo").id == "applyset-QUR2x6BQJw3uwPiKZ45mDmT8NuOsFjsK7lPupVYsj6A-v1"


def test_the_parent_is_a_secret_in_default_named_after_the_project() -> None:
    parent = ApplySetParent.for_project("My App_2")
    assert (parent.kind, parent.group, parent.version, parent.namespace) == ("Secret", "", "v1", "default")
    assert parent.name == "boxk8s-my-app-2"


@pytest.mark.parametrize(("project", "name"), [
    ("demo", "boxk8s-demo"),
    ("Shop.Front", "boxk8s-shop.front"),
    ("--x--", "boxk8s-x"),
    ("", "boxk8s-project"),
    ("ünïcode", "boxk8s-n-code"),
    ("a" * 300, "boxk8s-" + "a" * 246),  # a Secret name is at most 253 characters
])
def test_parent_names(project: str, name: str) -> None:
    assert applyset.parent_name(project) == name


def test_the_parent_patch_is_kubectls() -> None:
    parent = ApplySetParent.for_project("demo")
    body = parent.patch(["Deployment.apps", "ConfigMap", "Namespace", "ConfigMap", "Ingress.networking.k8s.io"],
                        ["default", "shop", "billing", "shop"])
    assert body == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "boxk8s-demo",
            "namespace": "default",
            "annotations": {
                "applyset.kubernetes.io/tooling": "boxk8s/v0.1.0",
                # sorted as sort.Strings does; the parent's own namespace is not "additional"
                "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Deployment.apps,Ingress.networking.k8s.io,"
                                                               "Namespace",
                "applyset.kubernetes.io/additional-namespaces": "billing,shop",
            },
            "labels": {"applyset.kubernetes.io/id": parent.id},
        },
    }
    # with no member elsewhere, kubectl still writes the annotation, empty
    assert parent.patch(set(), {"default"})["metadata"]["annotations"][
        "applyset.kubernetes.io/additional-namespaces"] == ""


@pytest.mark.parametrize(("kind", "group", "gk"), [
    ("ConfigMap", "", "ConfigMap"),
    ("Deployment", "apps", "Deployment.apps"),
    ("Ingress", "networking.k8s.io", "Ingress.networking.k8s.io"),
])
def test_group_kinds(kind: str, group: str, gk: str) -> None:
    assert applyset.group_kind(kind, group) == gk
    assert applyset.split_group_kind(gk) == (group, kind)


def live(tooling: str | None = "boxk8s/v0.1.0", set_id: str | None = None, **annotations: str) -> dict[str, Any]:
    parent = ApplySetParent.for_project("demo")
    md: dict[str, Any] = {"name": parent.name, "namespace": "default", "annotations": dict(annotations), "labels": {}}
    if tooling is not None:
        md["annotations"][applyset.TOOLING] = tooling
    if set_id != "":
        md["labels"][applyset.ID_LABEL] = set_id or parent.id
    return {"apiVersion": "v1", "kind": "Secret", "metadata": md}


@pytest.mark.parametrize(("obj", "problem"), [
    (live(), None),
    (live(tooling="boxk8s/v0.0.9"), None),  # an older boxk8s: same tool
    (live(tooling=None), 'ApplySet parent object "secrets./boxk8s-demo" already exists and is missing required '
                         'annotation "applyset.kubernetes.io/tooling"'),
    (live(tooling="kubectl/v1.32.0"), 'ApplySet parent object "secrets./boxk8s-demo" already exists and is managed '
                                      'by tooling "kubectl" instead of "boxk8s"'),
    (live(set_id=""), 'ApplySet parent object "secrets./boxk8s-demo" exists and does not have required label '
                      'applyset.kubernetes.io/id'),
    (live(set_id="applyset-other-v1"), 'ApplySet parent object "secrets./boxk8s-demo" exists and has incorrect '
                                       'value for label "applyset.kubernetes.io/id" (got: applyset-other-v1, want: '
                                       + ApplySetParent.for_project("demo").id + ")"),
])
def test_a_parent_that_is_not_ours_is_refused(obj: dict[str, Any], problem: str | None) -> None:
    assert ApplySetParent.for_project("demo").check(obj) == problem


@pytest.mark.parametrize(("tooling", "base"), [
    ("kubectl/v1.27", "kubectl"), ("helm/v3", "helm"), ("example.com/tool/v1", "example.com/tool"), ("bare", "bare"),
])
def test_tooling_base_name(tooling: str, base: str) -> None:
    assert applyset.tooling_base_name(tooling) == base


def test_the_parent_is_current_when_it_says_what_the_patch_would() -> None:
    parent = ApplySetParent.for_project("demo")
    body = parent.patch({"ConfigMap"}, {"default", "shop"})
    assert parent.is_current(body, {"ConfigMap"}, {"shop"})
    assert not parent.is_current(body, {"ConfigMap", "Secret"}, {"shop"})
    assert not parent.is_current(body, {"ConfigMap"}, set())
    old = parent.patch({"ConfigMap"}, {"shop"})
    old["metadata"]["annotations"][applyset.DEPRECATED_CONTAINS_GROUP_RESOURCES] = "configmaps"
    assert not parent.is_current(old, {"ConfigMap"}, {"shop"})  # applying drops the deprecated annotation


def test_parent_contents() -> None:
    obj = live(**{applyset.CONTAINS_GROUP_KINDS: "ConfigMap,Deployment.apps", applyset.ADDITIONAL_NAMESPACES: "a,b"})
    assert applyset.parent_contents(obj) == ({"ConfigMap", "Deployment.apps"}, {"a", "b"})
    assert applyset.parent_contents(live(**{applyset.CONTAINS_GROUP_KINDS: ""})) == (set(), set())


def test_members_are_labelled_without_changing_the_document() -> None:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"app": "x"}}}
    labelled = applyset.with_member_label(doc, "applyset-abc-v1")
    assert labelled["metadata"]["labels"] == {"app": "x", "applyset.kubernetes.io/part-of": "applyset-abc-v1"}
    assert doc["metadata"]["labels"] == {"app": "x"}
    assert applyset.label_error(doc) is None
    # kubectl's AddLabels: the label may not come from the input
    assert applyset.label_error(labelled) == 'ApplySet label "applyset.kubernetes.io/part-of" already set in input data'
