#!/usr/bin/env python3
"""Benchmark what ValidatingAdmissionPolicies add to a write, in-process (the resource layer over a
fresh SQLite store, no HTTP): the plugin's validate for a ConfigMap create, call by call, and whole
ConfigMap creates one at a time, with

1. no policy (the plugin's two in-memory counts),
2. N policies with bindings for Deployments only (matched and refused by rules, no CEL),
3. those plus one policy for ConfigMaps with a ConfigMap param and two validations (CEL each create).

Usage: python3 scripts/bench_admission_policy.py [--calls 5000] [--creates 500] [--policies 20]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from boxk8s.resources import registry
from boxk8s.resources.admission import WriteOptions
from boxk8s.resources.admission_plugins import CREATE, Attributes
from boxk8s.resources.admission_policy import ValidatingAdmissionPolicyPlugin
from boxk8s.resources.layer import Resources
from boxk8s.store import Store, StoreSettings

Obj = dict[str, Any]
API = "admissionregistration.k8s.io/v1"


def policy(name: str, resource: str, group: str, **spec: Any) -> Obj:
    rule = {"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": [resource]}
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
            "spec": {"matchConstraints": {"resourceRules": [rule]}, **spec}}


def binding(name: str, **spec: Any) -> Obj:
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"], **spec}}


def configmap(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"size": "small"}}


async def validations(res: Resources, n: int) -> list[float]:
    """The plugin's validate for a ConfigMap create, call by call (what it adds to each write)."""
    cms = registry.find("", "v1", "configmaps")
    assert cms is not None
    plugin = ValidatingAdmissionPolicyPlugin()
    out = []
    for i in range(n):
        attrs = Attributes(CREATE, cms, "default", configmap(f"cm-{i}"))
        t = time.perf_counter()
        await plugin.validate(attrs, res)
        out.append(time.perf_counter() - t)
    return out


async def creates(res: Resources, n: int, tag: str) -> list[float]:
    cms = registry.find("", "v1", "configmaps")
    assert cms is not None
    out = []
    for i in range(n):
        t = time.perf_counter()
        await res.create(cms, "default", configmap(f"{tag}-{i}"), WriteOptions(field_manager="bench"))
        out.append(time.perf_counter() - t)
    return out


async def stage(res: Resources, args: argparse.Namespace, label: str, tag: str, out: list[str]) -> None:
    await validations(res, 100)  # warm: caches filled, expressions compiled
    calls = await validations(res, args.calls)
    writes = await creates(res, args.creates, tag)
    out.append(f"{label:50s} validate p50 {statistics.median(calls) * 1e6:7.1f} µs   "
               f"create p50 {statistics.median(writes) * 1e3:6.2f} ms")


async def run(args: argparse.Namespace, work: Path) -> None:
    store = await Store.open_standalone(StoreSettings(path=work / "db"))
    try:
        res = Resources(store)
        find = registry.find
        ns, cms = find("", "v1", "namespaces"), find("", "v1", "configmaps")
        policies = find("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
        bindings = find("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings")
        assert ns and cms and policies and bindings
        await res.create(ns, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        await creates(res, 200, "warm")
        lines: list[str] = []
        await stage(res, args, "no policy", "none", lines)
        for i in range(args.policies):
            await res.create(policies, None, policy(f"deploy-{i}", "deployments", "apps",
                                                    validations=[{"expression": "object.spec.replicas < 10"}]))
            await res.create(bindings, None, binding(f"deploy-{i}"))
        await stage(res, args, f"{args.policies} policies for deployments", "rules", lines)
        await res.create(cms, "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "limits", "namespace": "default"},
                                          "data": {"sizes": "small,large"}})
        await res.create(policies, None, policy(
            "cm-size", "configmaps", "", paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
            validations=[{"expression": "params.data.sizes.contains(object.data.size)"},
                         {"expression": "size(object.metadata.name) < 64"}]))
        await res.create(bindings, None, binding("cm-size", paramRef={
            "name": "limits", "namespace": "default", "parameterNotFoundAction": "Deny"}))
        await stage(res, args, "+ 1 for configmaps (param, 2 validations)", "cel", lines)
        print(f"# {platform.python_implementation()} {platform.python_version()}, {args.calls} validate calls, "
              f"{args.creates} creates per line")
        print("\n".join(lines))
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--creates", type=int, default=500)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--policies", type=int, default=20)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-vap-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
