"""The ServiceAccount admission plugin's token volume, with the cases of upstream's admission_test.go
(TestAutomountsAPIToken, TestRespectsExistingMount, TestAutomountServiceAccountTokenFalse…)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.serviceaccount_volume import (
    MOUNT_PATH,
    mount_service_account_token,
    should_automount,
    token_volume_source,
)

Obj = dict[str, Any]
MOUNT = {"name": "kube-api-access-abcde", "readOnly": True, "mountPath": MOUNT_PATH}


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], **spec}}


def test_every_container_mounts_the_projected_volume() -> None:
    p = pod(initContainers=[{"name": "i"}], containers=[{"name": "a"}, {"name": "b", "volumeMounts": [
        {"name": "data", "mountPath": "/data"}]}])
    mount_service_account_token(p, "kube-api-access-abcde")
    spec = p["spec"]
    assert spec["volumes"] == [{"name": "kube-api-access-abcde", "projected": token_volume_source()}]
    assert spec["initContainers"][0]["volumeMounts"] == [MOUNT]
    assert spec["containers"][0]["volumeMounts"] == [MOUNT]
    assert spec["containers"][1]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}, MOUNT]


def test_the_projection_is_upstreams() -> None:
    assert token_volume_source() == {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
    }


def test_a_generated_name() -> None:
    p = pod()
    mount_service_account_token(p)
    name = p["spec"]["volumes"][0]["name"]
    assert name.startswith("kube-api-access-") and len(name) == len("kube-api-access-") + 5


def test_an_existing_mount_at_the_path_is_respected() -> None:
    own = {"name": "my-token", "mountPath": MOUNT_PATH}
    p = pod(containers=[{"name": "c", "volumeMounts": [own]}], volumes=[{"name": "my-token", "emptyDir": {}}])
    before = copy.deepcopy(p)
    mount_service_account_token(p, "kube-api-access-abcde")
    assert p == before  # nothing mounts the token volume, so none is added


def test_an_existing_token_volume_is_reused() -> None:
    existing = {"name": "kube-api-access-zzzzz", "projected": token_volume_source()}
    p = pod(volumes=[existing])
    mount_service_account_token(p, "kube-api-access-abcde")
    assert p["spec"]["volumes"] == [existing]
    assert p["spec"]["containers"][0]["volumeMounts"] == [{**MOUNT, "name": "kube-api-access-zzzzz"}]


@pytest.mark.parametrize(("pod_says", "account_says", "expected"), [
    (None, None, True), (None, True, True), (None, False, False),
    (True, False, True), (False, True, False), (False, None, False),
])
def test_should_automount(pod_says: bool | None, account_says: bool | None, expected: bool) -> None:
    account: Obj = {"metadata": {"name": "sa"}}
    if account_says is not None:
        account["automountServiceAccountToken"] = account_says
    p = pod() if pod_says is None else pod(automountServiceAccountToken=pod_says)
    assert should_automount(account, p) is expected
