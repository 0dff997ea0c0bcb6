"""The EncryptionConfiguration file (apiserver.config.k8s.io/v1), parsed and validated: pure.

As kube-apiserver reads `--encryption-provider-config`: strict decoding (an unknown field is an
error), then apiserver/pkg/apis/apiserver/validation/validation_encryption.go
(ValidateEncryptionConfiguration: key lengths, base64 secrets, one provider per element, the
resource names and overlaps), then the masking check of
apiserver/pkg/server/options/encryptionconfig/config.go (loadConfig: a resource listed after a
wildcard that covers it). The messages are theirs, field paths included. Errors never show a
secret (upstream prints "REDACTED").

boxk8s refuses the `kms` provider (it needs a KMS plugin speaking gRPC).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"

AES_KEY_SIZES = (16, 24, 32)  # crypto/aes.NewCipher: AES-128, -192, -256
SECRETBOX_KEY_SIZES = (32,)  # nacl/secretbox
KEY_SIZES = {"aesgcm": AES_KEY_SIZES, "aescbc": AES_KEY_SIZES, "secretbox": SECRETBOX_KEY_SIZES}
PROVIDERS = ("kms", "aesgcm", "aescbc", "secretbox", "identity")

GroupResource = tuple[str, str]  # (group, resource); "" is the core group, "*" a wildcard
ANY = ("*", "*")


class EncryptionConfigError(ValueError):
    """The file is not a valid EncryptionConfiguration; the message says where and why."""


@dataclass(frozen=True)
class Key:
    name: str
    secret: bytes = b""

    def __repr__(self) -> str:  # a key never shows in a log or a traceback
        return f"Key(name={self.name!r}, secret=<{len(self.secret)} bytes>)"


@dataclass(frozen=True)
class Provider:
    kind: str  # "aesgcm" | "aescbc" | "secretbox" | "identity"
    keys: tuple[Key, ...] = ()


@dataclass(frozen=True)
class ResourceConfig:
    resources: tuple[str, ...]
    providers: tuple[Provider, ...]


@dataclass(frozen=True)
class EncryptionConfig:
    resources: tuple[ResourceConfig, ...]


def parse_group_resource(text: str) -> GroupResource:
    """schema.ParseGroupResource: `secrets` → ("", "secrets"), `deployments.apps` → ("apps",
    "deployments"), `*.` → ("", "*"), `*.*` → ("*", "*")."""
    resource, _, group = text.partition(".")
    return group, resource


def _gr_text(gr: GroupResource) -> str:
    """How encryptionconfig's grYAMLString writes a group-resource."""
    group, resource = gr
    if group == "" and resource == "*":
        return "*."
    return f"{resource}.{group}" if group else resource


# ---- field errors, written as k8s.io/apimachinery/pkg/util/validation/field writes them ----

def _required(path: str, detail: str) -> str:
    return f"{path}: Required value: {detail}"


def _invalid(path: str, value: Any, detail: str) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f'{path}: Invalid value: "{shown}": {detail}' if isinstance(value, str) else \
        f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(errs: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as it is, several in brackets."""
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


# ---- decoding -----------------------------------------------------------------------------

_FIELDS = {
    "": {"apiVersion", "kind", "resources"},
    "resource": {"resources", "providers"},
    "provider": set(PROVIDERS),
    "keys": {"keys"},
    "key": {"name", "secret"},
}


def _strict(obj: dict[str, Any], allowed: str, path: str, errs: list[str]) -> None:
    for name in obj:
        if name not in _FIELDS[allowed]:
            errs.append(f'strict decoding error: unknown field "{path}{"." if path else ""}{name}"')


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EncryptionConfigError(f"{path}: expected an object, got {json.dumps(value)}")
    return value


def _sequence(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise EncryptionConfigError(f"{path}: expected a list, got {json.dumps(value)}")
    return value


def parse_encryption_config(text: str) -> EncryptionConfig:
    """The configuration in `text` (YAML or JSON), or EncryptionConfigError."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EncryptionConfigError(f"not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if doc is None:
        raise EncryptionConfigError("the file is empty")
    doc = _mapping(doc, "the document")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise EncryptionConfigError(
            f"apiVersion must be {API_VERSION} and kind {KIND}, not {doc.get('apiVersion')!r} and {doc.get('kind')!r}")
    errs: list[str] = []
    _strict(doc, "", "", errs)
    resources = tuple(_resource_config(item, f"resources[{i}]", errs)
                      for i, item in enumerate(_sequence(doc.get("resources"), "resources")))
    if not resources:
        errs.append(_required("resources", "at least one resources is required"))
    if not errs:
        errs.extend(_masked(resources))
    if errs:
        raise EncryptionConfigError(_aggregate(errs))
    return EncryptionConfig(resources)


def _resource_config(item: Any, path: str, errs: list[str]) -> ResourceConfig:
    item = _mapping(item, path)
    _strict(item, "resource", path, errs)
    names = _sequence(item.get("resources"), f"{path}.resources")
    if not all(isinstance(n, str) for n in names):
        raise EncryptionConfigError(f"{path}.resources: expected a list of strings")
    if not names:
        errs.append(_required(f"{path}.resources", f"at least one {path}.resources is required"))
    errs.extend(_overlap(names, f"{path}.resources"))
    errs.extend(_resource_names(names, f"{path}.resources"))
    providers = []
    items = _sequence(item.get("providers"), f"{path}.providers")
    if not items:
        errs.append(_required(f"{path}.providers", f"at least one {path}.providers is required"))
    for j, raw in enumerate(items):
        provider = _provider(raw, f"{path}.providers[{j}]", errs)
        if provider is not None:
            providers.append(provider)
    return ResourceConfig(tuple(names), tuple(providers))


def _provider(raw: Any, path: str, errs: list[str]) -> Provider | None:
    raw = _mapping(raw, path)
    _strict(raw, "provider", path, errs)
    given = [name for name in PROVIDERS if name in raw]
    if not given:
        errs.append(_invalid(path, raw, "provider does not contain any of the expected providers: "
                                        "KMS, AESGCM, AESCBC, Secretbox, Identity"))
        return None
    if len(given) > 1:
        errs.append(_invalid(path, sorted(given), "more than one provider specified in a single element, "
                                                  "should split into different list elements"))
        return None
    kind = given[0]
    if kind == "kms":
        errs.append(f"{path}.kms: Unsupported value: the kms provider needs a KMS plugin, which boxk8s "
                    "does not run: use aesgcm, aescbc or secretbox")
        return None
    body = _mapping(raw[kind], f"{path}.{kind}")
    if kind == "identity":
        if body:
            errs.append(f'strict decoding error: unknown field "{path}.identity.{next(iter(body))}"')
        return Provider("identity")
    _strict(body, "keys", f"{path}.{kind}", errs)
    return Provider(kind, _keys(_sequence(body.get("keys"), f"{path}.{kind}.keys"), f"{path}.{kind}.keys",
                                KEY_SIZES[kind], errs))


def _keys(items: list[Any], path: str, sizes: tuple[int, ...], errs: list[str]) -> tuple[Key, ...]:
    """validateKeys / validateKey."""
    if not items:
        errs.append(_required(path, "at least one keys is required"))
        return ()
    keys = []
    for i, raw in enumerate(items):
        at = f"{path}[{i}]"
        raw = _mapping(raw, at)
        _strict(raw, "key", at, errs)
        name, secret = str(raw.get("name") or ""), raw.get("secret") or ""
        if not name:
            errs.append(_required(f"{at}.name", "name is a mandatory field for a key"))
        if not secret:
            errs.append(_required(f"{at}.secret", "secret is a mandatory field for a key"))
            continue
        try:
            decoded = base64.b64decode(str(secret), validate=True)
        except (binascii.Error, ValueError):
            errs.append(_invalid(f"{at}.secret", "REDACTED", "secrets must be base64 encoded"))
            continue
        if len(decoded) not in sizes:
            expected = "[" + " ".join(str(s) for s in sizes) + "]"
            errs.append(_invalid(f"{at}.secret", "REDACTED",
                                 f"secret is not of the expected length, got {len(decoded)}, expected one of {expected}"))
            continue
        keys.append(Key(name, decoded))
    return tuple(keys)


def _overlap(names: list[str], path: str) -> list[str]:
    """validateResourceOverlap: the same resource twice, or a wildcard beside what it covers."""
    grs = [parse_group_resource(n) for n in names]
    duplicate = overlap = False
    for i, a in enumerate(grs):
        for j, b in enumerate(grs):
            if i == j:
                continue
            if a == b:
                duplicate = True
            elif a == ANY or (a[0] == b[0] and "*" in (a[1], b[1])):
                overlap = True
    errs = []
    if duplicate:
        errs.append(_invalid(path, names, "the same resource cannot be specified multiple times"))
    if overlap:
        errs.append(_invalid(path, names, "using overlapping resources such as 'secrets' and '*.' in the same "
                                          "resource list is not allowed as they will be masked"))
    return errs


def _resource_names(names: list[str], path: str) -> list[str]:
    """validateResourceNames."""
    errs = []
    for j, name in enumerate(names):
        at, (group, resource) = f"{path}[{j}]", parse_group_resource(name)
        if name.lower() != name:
            detail = "resource name should not contain capital letters"
        elif name == "*":
            detail = "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"
        elif name in ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations"):
            detail = "resources which do not have REST API/s cannot be encrypted"
        elif group == "events.k8s.io":
            detail = ("'*.events.k8s.io' objects are stored using the 'events' API group in etcd. "
                      "Use 'events' instead in the config file")
        elif group == "extensions":
            detail = "'extensions' group has been removed and cannot be used for encryption"
        elif group == "*" and resource != "*":
            detail = "encrypting the same resource across groups is not supported"
        else:
            continue
        errs.append(_invalid(at, name, detail))
    return errs


def _masked(configs: tuple[ResourceConfig, ...]) -> list[str]:
    """encryptionconfig.loadConfig: a resource an earlier wildcard entry already covers is an error."""
    seen: set[GroupResource] = set()
    for config in configs:
        for name in config.resources:
            gr = parse_group_resource(name)
            for rule in ((gr[0], "*"), ANY):
                if rule in seen:
                    return [f'resource "{_gr_text(gr)}" is masked by earlier rule "{_gr_text(rule)}"']
        seen.update(parse_group_resource(n) for n in config.resources)
    return []


def providers_by_resource(config: EncryptionConfig) -> dict[GroupResource, tuple[Provider, ...]]:
    """Each configured group-resource (wildcards included) and its providers in order: a resource
    named in several entries gets the providers of each, the earlier entries' first (encryptionconfig's
    resourceToPrefixTransformer)."""
    out: dict[GroupResource, tuple[Provider, ...]] = {}
    for entry in config.resources:
        for name in entry.resources:
            gr = parse_group_resource(name)
            out[gr] = out.get(gr, ()) + entry.providers
    return out


def resource_lookup_order(gr: GroupResource) -> tuple[GroupResource, ...]:
    """Which configured entries apply to a group-resource, most specific first (the apiserver's
    transformerFromOverrides: the resource, then `*.<group>`, then `*.*`)."""
    return gr, (gr[0], "*"), ANY
