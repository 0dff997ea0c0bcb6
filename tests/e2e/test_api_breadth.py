"""Manifests written for real clusters apply unchanged: a rendered chart of the kinds Helm charts
carry, and kubectl's own answer for a kind no cluster serves."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Boxk8s, wait_for

CHART = Path(__file__).parent / "fixtures" / "chart.yaml"


def applied(output: str) -> dict[str, str]:
    """`kubectl apply` lines, `kind.group/name verb` → {kind.group/name: verb}."""
    return dict(line.rsplit(" ", 1) for line in output.splitlines() if line.strip())  # type: ignore[misc]


def test_a_rendered_chart_applies_then_is_unchanged(cluster: Boxk8s) -> None:
    first = applied(cluster.kubectl("apply", "-f", str(CHART)).stdout)
    assert len(first) == 15 and set(first.values()) == {"created"}, first
    before = json.loads(cluster.kubectl("get", "pdb,secret", "chart", "-o", "json").stdout)["items"]
    second = applied(cluster.kubectl("apply", "-f", str(CHART)).stdout)
    # Two kinds say "configured" on every apply, on any cluster, because kubectl's patch is never
    # empty for them: a Secret written with stringData (the last-applied annotation holds stringData,
    # which the apiserver folds into data: kubernetes/kubernetes#87736), and a PodDisruptionBudget
    # (its selector's patch strategy is "replace": Azure/eno#246). The server writes nothing for them.
    assert second.pop("secret/chart") == "configured"
    assert second.pop("poddisruptionbudget.policy/chart") == "configured"
    assert set(second.values()) == {"unchanged"}, second
    after = json.loads(cluster.kubectl("get", "pdb,secret", "chart", "-o", "json").stdout)["items"]
    # (the PDB's status moves with its pods, so its generation is what a write of the spec would bump)
    assert after[0]["metadata"]["generation"] == before[0]["metadata"]["generation"] == 1
    assert after[1]["metadata"]["resourceVersion"] == before[1]["metadata"]["resourceVersion"]

    def available() -> bool:
        deploy = json.loads(cluster.kubectl("get", "deployment", "chart", "-o", "json").stdout)
        return (deploy.get("status") or {}).get("availableReplicas") == 2
    wait_for(available, timeout=60, what="the chart's Deployment available")
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=chart", "-o", "json").stdout)["items"]
    assert {p["spec"]["serviceAccountName"] for p in pods} == {"chart"}
    secret = json.loads(cluster.kubectl("get", "secret", "chart", "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"} and "stringData" not in secret
    cluster.kubectl("delete", "-f", str(CHART), "--wait=false")


def test_a_kind_no_cluster_serves_gets_kubectls_own_answer(cluster: Boxk8s, tmp_path: Path) -> None:
    manifest = tmp_path / "widget.yaml"
    manifest.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n")
    result = cluster.kubectl("apply", "-f", str(manifest), check=False)
    assert result.returncode == 1
    assert 'no matches for kind "Widget" in version "example.com/v1"' in result.stderr, result.stderr
    assert "ensure CRDs are installed first" in result.stderr
    assert "failed to download openapi" not in result.stderr
