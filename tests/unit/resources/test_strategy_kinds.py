"""The CertificateSigningRequest strategy (pkg/registry/certificates/certificates/strategy.go)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from boxk8s.resources.strategy_kinds import csr_prepare_for_create, csr_prepare_for_update

NOW = "2024-05-01T12:00:00Z"
EARLIER = "2024-05-01T11:00:00Z"
SPEC = {"request": "cmVx", "signerName": "example.com/s", "usages": ["any"], "username": "kubernetes-admin",
        "groups": ["system:masters", "system:authenticated"]}


def test_create_takes_the_requester_from_the_request_not_the_body() -> None:
    obj = {"spec": {"request": "cmVx", "username": "root", "uid": "0", "groups": ["x"], "extra": {"a": ["b"]}},
           "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Y2VydA=="}}
    csr_prepare_for_create(obj)
    assert obj == {"spec": {"request": "cmVx", "username": "kubernetes-admin",
                            "groups": ["system:masters", "system:authenticated"]}, "status": {}}


def stored(**status: Any) -> dict[str, Any]:
    return {"spec": copy.deepcopy(SPEC), "status": status}


@pytest.mark.parametrize(("old", "sent", "subresource", "expected_status"), [
    # the object itself: neither spec nor status change
    (stored(), {"spec": {**SPEC, "usages": ["server auth"]},
                "status": {"conditions": [{"type": "Approved", "status": "True"}]}}, "", {}),
    # /approval: only the conditions, stamped
    (stored(certificate="b2xk"), {"spec": {}, "status": {
        "conditions": [{"type": "Approved", "status": "True", "reason": "OK"}], "certificate": "bmV3"}}, "approval",
     {"certificate": "b2xk", "conditions": [
         {"type": "Approved", "status": "True", "reason": "OK", "lastUpdateTime": NOW, "lastTransitionTime": NOW}]}),
    # /status: the certificate, while the approval conditions stay as stored
    (stored(conditions=[{"type": "Approved", "status": "True", "reason": "A", "lastUpdateTime": EARLIER,
                         "lastTransitionTime": EARLIER}]),
     {"status": {"certificate": "Y2VydA==", "conditions": [
         {"type": "Approved", "status": "True", "reason": "Changed"},
         {"type": "Failed", "status": "False"}]}}, "status",
     {"certificate": "Y2VydA==", "conditions": [
         {"type": "Approved", "status": "True", "reason": "A", "lastUpdateTime": EARLIER, "lastTransitionTime": EARLIER},
         {"type": "Failed", "status": "False", "lastUpdateTime": NOW, "lastTransitionTime": NOW}]}),
])
def test_update(old: dict[str, Any], sent: dict[str, Any], subresource: str, expected_status: dict[str, Any]) -> None:
    # what status.merge_for_subresource hands the strategy: the sent object with the stored status,
    # or, for /status, the stored object with the sent status
    new = ({**copy.deepcopy(old), "status": copy.deepcopy(sent["status"])} if subresource == "status"
           else {**copy.deepcopy(sent), "status": copy.deepcopy(old["status"])})
    csr_prepare_for_update(old, sent, new, subresource, now=NOW)
    assert new["spec"] == SPEC
    assert new["status"] == expected_status


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    old = stored(conditions=[{"type": "Failed", "status": "True", "lastTransitionTime": EARLIER}])
    sent = {"status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    new = {**copy.deepcopy(old), "status": copy.deepcopy(sent["status"])}
    csr_prepare_for_update(old, sent, new, "status", now=NOW)
    assert new["status"]["conditions"] == [
        {"type": "Failed", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": EARLIER}]
