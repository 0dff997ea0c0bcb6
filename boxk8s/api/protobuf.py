"""Decode Kubernetes protobuf request bodies into the JSON objects a JSON client would send.

kubectl's typed-client commands (`create configmap|secret|deployment…`, `run`, `expose`,
drain's eviction) POST `application/vnd.kubernetes.protobuf` and never retry with JSON, so
the API accepts that content type on input; responses stay JSON.

Wire envelope: the magic `k8s\\x00`, then a `runtime.Unknown` whose `typeMeta` names the
kind and whose `raw` is that kind's message. The message types come from the gogo
descriptors kubectl embeds, extracted by `scripts/gen_proto_descriptors.py` into
`k8s-descriptors.binpb.gz` next to this module.

Zero values. Go's protobuf marshaller writes every non-pointer scalar field, zero or not,
while its JSON marshaller omits zero `omitempty` fields. The descriptors keep the gogo
option `(gogoproto.nullable) = false` that marks a field as a Go value rather than a Go
pointer, which gives the rule:
- a pointer field (`*int32`, `*bool`, `*string`: `replicas`, `runAsUser`, `optional`,
  `gracePeriodSeconds`, `storageClassName`, …) is on the wire only when the client set it,
  so it is kept whatever its value, `0`, `false` and `""` included;
- a value field is dropped when it holds its zero value (`""`, `0`, `false`, empty bytes),
  as `omitempty` would, except the few in `_KEEP_ZERO`: fields Go JSON always writes
  (no `omitempty`) where zero means something (`containerPort`, `ServicePort.port`,
  `exitCode`, `ScaleSpec.replicas`, …).
Messages present on the wire are kept even when empty (Go JSON writes `resources: {}`),
except a zero `Time`/`MicroTime`, which Go writes as `null` and we omit. Map values and
list items are never dropped (`data: {"a": ""}` stays).
"""

from __future__ import annotations

import base64
import functools
import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from boxk8s import jsontext

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
DESCRIPTORS_FILE = "k8s-descriptors.binpb.gz"

_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
_UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
# FieldOptions bytes of `(gogoproto.nullable) = false` (extension 65001, varint 0).
_NON_NULLABLE = b"\xc8\xde\x1f\x00"
# Embedded Go structs (`json:",inline"`): a named field in protobuf, flattened into the parent in JSON
# (`kubectl create ingress` sends IngressRule.ingressRuleValue; volumes and probes embed theirs).
_INLINE = frozenset(
    {
        "k8s.io.api.networking.v1.IngressRule.ingressRuleValue",
        "k8s.io.api.core.v1.Volume.volumeSource",
        "k8s.io.api.core.v1.PersistentVolumeSpec.persistentVolumeSource",
        "k8s.io.api.core.v1.Probe.handler",
        "k8s.io.api.core.v1.EphemeralContainer.ephemeralContainerCommon",
    }
)
# Value (non-pointer) fields that Go JSON writes even when zero and whose zero matters.
_KEEP_ZERO = frozenset(
    {
        "k8s.io.api.core.v1.ContainerPort.containerPort",
        "k8s.io.api.core.v1.ServicePort.port",
        "k8s.io.api.core.v1.EndpointPort.port",
        "k8s.io.api.core.v1.ContainerStateTerminated.exitCode",
        "k8s.io.api.core.v1.ContainerStatus.ready",
        "k8s.io.api.core.v1.ContainerStatus.restartCount",
        "k8s.io.api.core.v1.EventSeries.count",
        "k8s.io.api.events.v1.EventSeries.count",
        "k8s.io.api.autoscaling.v1.ScaleSpec.replicas",
        "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerSpec.maxReplicas",
        "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatus.currentReplicas",
        "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatus.desiredReplicas",
        "k8s.io.api.apps.v1.StatefulSetStatus.replicas",
        "k8s.io.api.policy.v1.PodDisruptionBudgetStatus.disruptionsAllowed",
        "k8s.io.api.policy.v1.PodDisruptionBudgetStatus.currentHealthy",
        "k8s.io.api.policy.v1.PodDisruptionBudgetStatus.desiredHealthy",
        "k8s.io.api.policy.v1.PodDisruptionBudgetStatus.expectedPods",
        "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerSpec.maxReplicas",
        "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerStatus.desiredReplicas",
        "k8s.io.api.scheduling.v1.PriorityClass.value",
    }
)
# Go's time.Time{} as Unix seconds: a zero Time marshalled by something other than gogo.
_GO_ZERO_SECONDS = -62135596800
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Converter = Callable[[Any], Any]


def decode_k8s_protobuf(data: bytes) -> dict[str, Any]:
    """The JSON object (with apiVersion and kind) encoded in a Kubernetes protobuf body.

    Raises ValueError when the body is not a well-formed envelope of a known kind.
    """
    if not data.startswith(MAGIC):
        raise ValueError("protobuf body does not start with the Kubernetes magic bytes 'k8s\\x00'")
    envelope = message_class(_UNKNOWN)()
    try:
        envelope.ParseFromString(data[len(MAGIC) :])
    except DecodeError as e:
        raise ValueError(f"malformed protobuf envelope: {e}") from e
    api_version = envelope.typeMeta.apiVersion
    kind = envelope.typeMeta.kind
    if not api_version or not kind:
        raise ValueError("protobuf envelope has no apiVersion/kind in typeMeta")
    if envelope.contentEncoding:
        raise ValueError(f"unsupported protobuf contentEncoding {envelope.contentEncoding!r}")
    cls = _kind_class(api_version, kind)
    if cls is None:
        raise ValueError(f"no protobuf message known for {kind} in {api_version}")
    msg = cls()
    try:
        msg.ParseFromString(envelope.raw)
    except DecodeError as e:
        raise ValueError(f"malformed protobuf {kind}: {e}") from e
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(_to_dict(msg))
    return obj


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    raw = resources.files(__package__).joinpath(DESCRIPTORS_FILE).read_bytes()
    fds = descriptor_pb2.FileDescriptorSet.FromString(gzip.decompress(raw))
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:  # dependencies come first
        pool.AddSerializedFile(file.SerializeToString())
    return pool


@functools.cache
def message_class(full_name: str) -> type[Message]:
    """The generated class of a Kubernetes message, e.g. `k8s.io.api.core.v1.ConfigMap`.

    Raises KeyError for names not in the bundled descriptors.
    """
    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(full_name))


def _proto_package(api_version: str) -> str | None:
    """`v1` → k8s.io.api.core.v1, `networking.k8s.io/v1` → k8s.io.api.networking.v1."""
    group, _, version = api_version.rpartition("/")
    if not version:
        return None
    if group == "":
        return f"k8s.io.api.core.{version}"
    if group == "meta.k8s.io":
        return f"k8s.io.apimachinery.pkg.apis.meta.{version}"
    if "." in group and not group.endswith(".k8s.io"):
        return None  # custom resources have no protobuf form
    return f"k8s.io.api.{group.split('.')[0]}.{version}"


# Kinds whose descriptors kubectl no longer embeds, decoded with a newer version's message of the same
# fields and numbers: drain's policy/v1beta1 Eviction (metadata = 1, deleteOptions = 2, as policy/v1).
_SAME_MESSAGE = {("policy/v1beta1", "Eviction"): "k8s.io.api.policy.v1.Eviction"}


@functools.lru_cache(maxsize=256)  # keyed by client input: bounded
def _kind_class(api_version: str, kind: str) -> type[Message] | None:
    if not kind.isidentifier():
        return None  # "ConfigMap.DataEntry" would find a nested map-entry type
    if (api_version, kind) in _SAME_MESSAGE:
        return message_class(_SAME_MESSAGE[api_version, kind])
    version = api_version.rpartition("/")[2]
    # DeleteOptions & co. are registered in every group version but defined in meta/v1.
    for package in (_proto_package(api_version), f"k8s.io.apimachinery.pkg.apis.meta.{version}"):
        if package is None:
            continue
        try:
            return message_class(f"{package}.{kind}")
        except KeyError:
            continue
    return None


def _to_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        name, convert, keep_zero, omit_empty_msg = _field_plan(field)
        if field.full_name in _INLINE:
            out.update(convert(value))  # an embedded Go struct: its fields are the parent's in JSON
            continue
        if field.is_repeated:
            if _is_map(field):
                out[name] = {k: convert(v) for k, v in value.items()}
            else:
                out[name] = [convert(v) for v in value]
            continue
        if not keep_zero and not value:
            continue  # zero value of a Go value field: omitempty
        converted = convert(value)
        if converted is None and omit_empty_msg:
            continue
        out[name] = converted
    return out


@functools.cache
def _field_plan(field: FieldDescriptor) -> tuple[str, Converter, bool, bool]:
    """(JSON name, value converter, keep zero values?, omit when converter gives None?)."""
    if _is_map(field):
        convert = _converter(field.message_type.fields_by_name["value"])
        return field.name, convert, True, False
    convert = _converter(field)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return field.name, convert, True, True
    non_nullable = field.has_options and _NON_NULLABLE in field.GetOptions().SerializeToString()
    keep_zero = not non_nullable or field.full_name in _KEEP_ZERO
    return field.name, convert, keep_zero, False


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type.GetOptions().map_entry
    )


def _converter(field: FieldDescriptor) -> Converter:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        special = _SPECIAL.get(field.message_type.full_name)
        return special if special is not None else _to_dict
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _base64
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        return lambda v: enum.values_by_number[v].name if v in enum.values_by_number else v
    return _identity


def _identity(value: Any) -> Any:
    return value


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _timestamp(msg: Message) -> datetime | None:
    if not msg.ListFields():
        return None  # gogo writes a zero Time as an empty message
    if msg.seconds == _GO_ZERO_SECONDS and msg.nanos == 0:
        return None
    return _EPOCH + timedelta(seconds=msg.seconds, microseconds=msg.nanos // 1000)


def _date(dt: datetime) -> str:
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def _time(msg: Message) -> str | None:
    """metav1.Time: RFC 3339 in UTC, whole seconds (Go's `time.RFC3339`)."""
    dt = _timestamp(msg)
    return None if dt is None else f"{_date(dt)}Z"


def _micro_time(msg: Message) -> str | None:
    """metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits."""
    dt = _timestamp(msg)
    return None if dt is None else f"{_date(dt)}.{dt.microsecond:06d}Z"


def go_duration(ns: int) -> str:
    """A nanosecond count as Go's `time.Duration.String()`: 1h2m3.5s, 1.5ms, 0s."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_decimal(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_decimal(u, 6)}ms"
    secs, frac = divmod(u, 1_000_000_000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    text = f"{_decimal(secs * 1_000_000_000 + frac, 9)}s"
    if mins or hours:
        text = f"{mins}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _decimal(value: int, digits: int) -> str:
    """`value / 10**digits` printed with trailing zeros (and a bare dot) trimmed."""
    whole, frac = divmod(value, 10**digits)
    fraction = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{fraction}" if fraction else str(whole)


def _duration(msg: Message) -> str:
    return go_duration(msg.duration)


def _int_or_string(msg: Message) -> int | str:
    return msg.strVal if msg.type == 1 else msg.intVal


def _quantity(msg: Message) -> str:
    return msg.string


def _raw_json(raw: bytes) -> Any:
    if not raw:
        return None
    if raw.startswith(MAGIC):  # an embedded object may itself be protobuf
        return decode_k8s_protobuf(raw)
    try:
        return jsontext.loads(raw, strict=True)  # as a JSON body: NaN and Infinity are not JSON
    except ValueError as e:
        raise ValueError(f"embedded object is not JSON: {e}") from e


def _raw_extension(msg: Message) -> Any:
    return _raw_json(msg.raw)


def _fields_v1(msg: Message) -> Any:
    return _raw_json(msg.Raw)


def _verbs(msg: Message) -> list[str]:
    return list(msg.items)


_SPECIAL: dict[str, Converter] = {
    f"{_META}.Time": _time,
    f"{_META}.MicroTime": _micro_time,
    f"{_META}.Duration": _duration,
    f"{_META}.FieldsV1": _fields_v1,
    f"{_META}.Verbs": _verbs,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _raw_extension,
}
