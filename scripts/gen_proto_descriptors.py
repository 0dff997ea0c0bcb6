#!/usr/bin/env python3
"""Extract the Kubernetes protobuf descriptors embedded in kubectl.

kubectl (like every Go binary built with gogo-protobuf) registers the gzipped
FileDescriptorProto of each ``generated.proto`` it links. We scan the binary for gzip
members, keep the Kubernetes ones we decode request bodies with (plus what they import),
strip the gogoproto import and options the pool cannot resolve, and write a
FileDescriptorSet in dependency order to ``boxk8s/api/k8s-descriptors.binpb.gz``.

Usage: python scripts/gen_proto_descriptors.py [--kubectl PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import zlib
from pathlib import Path

from google.protobuf import descriptor_pb2

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
KUBECTL_VERSION = "1.32"
# FieldOptions wire bytes of `(gogoproto.nullable) = false`: extension 65001, varint 0.
NON_NULLABLE = b"\xc8\xde\x1f\x00"
ROOTS = [
    "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/schema/generated.proto",
    "k8s.io/apimachinery/pkg/util/intstr/generated.proto",
    "k8s.io/apimachinery/pkg/api/resource/generated.proto",
    "k8s.io/api/core/v1/generated.proto",
    "k8s.io/api/apps/v1/generated.proto",
    "k8s.io/api/batch/v1/generated.proto",
    "k8s.io/api/networking/v1/generated.proto",
    "k8s.io/api/coordination/v1/generated.proto",
    "k8s.io/api/discovery/v1/generated.proto",
    "k8s.io/api/events/v1/generated.proto",
    "k8s.io/api/policy/v1/generated.proto",
    "k8s.io/api/autoscaling/v1/generated.proto",
    # the cluster-level kinds kubectl's typed commands send (create role|clusterrole|rolebinding|
    # clusterrolebinding|priorityclass|poddisruptionbudget|quota, certificate approve|deny, autoscale)
    "k8s.io/api/autoscaling/v2/generated.proto",
    "k8s.io/api/rbac/v1/generated.proto",
    "k8s.io/api/storage/v1/generated.proto",
    "k8s.io/api/scheduling/v1/generated.proto",
    "k8s.io/api/node/v1/generated.proto",
    "k8s.io/api/certificates/v1/generated.proto",
    "k8s.io/api/admissionregistration/v1/generated.proto",
    "k8s.io/api/flowcontrol/v1/generated.proto",
    # what `kubectl create token` and `kubectl auth can-i|whoami` send
    "k8s.io/api/authentication/v1/generated.proto",
    "k8s.io/api/authorization/v1/generated.proto",
]
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "boxk8s" / "api" / "k8s-descriptors.binpb.gz"
# gnostic's OpenAPI v2 messages (the protobuf form of /openapi/v2 kubectl asks for). gnostic-models is
# built with golang/protobuf, which embeds its descriptor raw (not gzipped).
OPENAPI_V2_PROTO = "openapiv2/OpenAPIv2.proto"
OPENAPI_V2_OUT = DEFAULT_OUT.with_name("openapiv2-descriptor.binpb.gz")


def find_kubectl() -> Path:
    """The kubectl 1.32 binary: a versioned sibling of the one on PATH, else that one."""
    found = shutil.which("kubectl")
    if found is None:
        raise SystemExit("kubectl not found on PATH; pass --kubectl")
    real = Path(found).resolve()
    sibling = real.with_name(f"kubectl.{KUBECTL_VERSION}")
    return sibling if sibling.exists() else real


def scan_descriptors(binary: bytes) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every gzipped ``*generated.proto`` FileDescriptorProto in ``binary``, by file name."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    start = binary.find(GZIP_HEADER)
    while start != -1:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(binary[start : start + 4_000_000])
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except Exception:  # most gzip-looking byte runs are not descriptors
            fd = None
        if fd is not None and fd.name.endswith("generated.proto"):
            files.setdefault(fd.name, fd)
        start = binary.find(GZIP_HEADER, start + 1)
    return files


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def scan_raw_descriptor(binary: bytes, name: str) -> descriptor_pb2.FileDescriptorProto:
    """The raw FileDescriptorProto of file `name`: it starts with field 1 (the name); its end is
    where the fields of a FileDescriptorProto (numbers 1-14, varint or length-delimited) stop."""
    encoded = name.encode()
    start = binary.find(b"\n" + bytes([len(encoded)]) + encoded)
    if start == -1:
        raise SystemExit(f"{name} not embedded in kubectl")
    pos = start
    while pos < len(binary):
        tag, after = _varint(binary, pos)
        field, wire_type = tag >> 3, tag & 7
        if not 1 <= field <= 14 or wire_type not in (0, 2):
            break
        if wire_type == 2:
            length, after = _varint(binary, after)
            after += length
        else:
            _, after = _varint(binary, after)
        pos = after
    return descriptor_pb2.FileDescriptorProto.FromString(binary[start:pos])


def closure(
    files: dict[str, descriptor_pb2.FileDescriptorProto], roots: list[str]
) -> list[descriptor_pb2.FileDescriptorProto]:
    """``roots`` and their in-set imports, dependencies first (depth-first post-order)."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        fd = files[name]
        for dep in fd.dependency:
            if dep in files:
                visit(dep)
        ordered.append(fd)

    for root in roots:
        if root not in files:
            raise SystemExit(f"{root} not embedded in kubectl")
        visit(root)
    return ordered


def strip(fd: descriptor_pb2.FileDescriptorProto, keep: set[str]) -> descriptor_pb2.FileDescriptorProto:
    """A copy without imports outside ``keep`` (gogo.proto) and without options we don't need.

    gogoproto options are extensions the pool cannot resolve; source info is only comments.
    """
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(fd)
    deps = [d for d in out.dependency if d in keep]
    del out.dependency[:]
    out.dependency.extend(deps)
    del out.public_dependency[:]
    del out.weak_dependency[:]
    out.ClearField("source_code_info")
    out.ClearField("options")

    def clean(msg: descriptor_pb2.DescriptorProto) -> None:
        map_entry = msg.options.map_entry  # the one message option protobuf itself needs
        msg.ClearField("options")
        if map_entry:
            msg.options.map_entry = True
        for field in msg.field:
            # Keep just `(gogoproto.nullable) = false` on scalars, as an unknown option field:
            # it says the Go field is a value, not a pointer, which decides whether a zero
            # value on the wire was sent on purpose (see boxk8s/api/protobuf.py).
            non_nullable = NON_NULLABLE in field.options.SerializeToString()
            field.ClearField("options")
            if non_nullable and field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                field.options.MergeFromString(NON_NULLABLE)
        for nested in msg.nested_type:
            clean(nested)

    for msg in out.message_type:
        clean(msg)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubectl", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    kubectl = args.kubectl or find_kubectl()
    binary = kubectl.read_bytes()
    files = scan_descriptors(binary)
    ordered = closure(files, ROOTS)
    keep = {fd.name for fd in ordered}
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.extend(strip(fd, keep) for fd in ordered)
    payload = gzip.compress(fds.SerializeToString(deterministic=True), compresslevel=9, mtime=0)
    args.out.write_bytes(payload)
    print(
        f"{kubectl}: {len(files)} descriptors; wrote {len(ordered)} to {args.out} ({len(payload)} bytes)",
        file=sys.stderr,
    )
    openapi = scan_raw_descriptor(binary, OPENAPI_V2_PROTO)
    openapi.ClearField("source_code_info")
    out = descriptor_pb2.FileDescriptorSet()
    out.file.append(openapi)
    OPENAPI_V2_OUT.write_bytes(gzip.compress(out.SerializeToString(deterministic=True), compresslevel=9, mtime=0))
    print(f"wrote {OPENAPI_V2_PROTO} ({len(openapi.message_type)} messages) to {OPENAPI_V2_OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
