"""The EncryptionConfiguration parser: what kube-apiserver accepts, and its messages for what it
refuses (validation_encryption.go, encryptionconfig/config.go)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from boxk8s.store.encryption import EncryptionConfigError, load_encryption_config, parse_encryption_config
from boxk8s.store.encryption.config import Key, Provider, providers_by_resource, resource_lookup_order

K16 = base64.b64encode(b"k" * 16).decode()
K32 = base64.b64encode(b"k" * 32).decode()


def doc(*entries: dict[str, object]) -> str:
    return yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                           "resources": list(entries)})


def entry(resources: list[str], *providers: dict[str, object]) -> dict[str, object]:
    return {"resources": resources, "providers": list(providers)}


def aes(kind: str = "aesgcm", *keys: tuple[str, str]) -> dict[str, object]:
    return {kind: {"keys": [{"name": n, "secret": s} for n, s in keys or [("key1", K32)]]}}


def refused(text: str) -> str:
    with pytest.raises(EncryptionConfigError) as info:
        parse_encryption_config(text)
    return str(info.value)


def test_the_documented_example_parses_with_every_local_provider() -> None:
    config = parse_encryption_config(doc(
        entry(["secrets", "configmaps", "pandas.awesome.bears.example"],
              aes("aesgcm", ("key1", K16), ("key2", K32)), aes("aescbc"), aes("secretbox"), {"identity": {}}),
        entry(["*.apps"], aes("aescbc", ("key2", K16))),
    ))
    first = config.resources[0]
    assert first.resources == ("secrets", "configmaps", "pandas.awesome.bears.example")
    assert [p.kind for p in first.providers] == ["aesgcm", "aescbc", "secretbox", "identity"]
    assert first.providers[0].keys == (Key("key1", b"k" * 16), Key("key2", b"k" * 32))
    assert first.providers[3] == Provider("identity")


def test_json_is_yaml_too() -> None:
    text = ('{"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration", '
            '"resources": [{"resources": ["secrets"], "providers": [{"identity": {}}]}]}')
    assert parse_encryption_config(text).resources[0].providers == (Provider("identity"),)


def test_a_key_never_shows_in_its_repr() -> None:
    assert "k" * 16 not in repr(Key("key1", b"k" * 16))


P0 = "resources[0].providers[0]"


@pytest.mark.parametrize("text, message", [
    (doc(entry(["secrets"], aes("aesgcm", ("key1", base64.b64encode(b"short").decode())))),
     f'{P0}.aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, '
     "got 5, expected one of [16 24 32]"),
    (doc(entry(["secrets"], aes("secretbox", ("key1", K16)))),
     f'{P0}.secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, '
     "got 16, expected one of [32]"),
    (doc(entry(["secrets"], aes("aescbc", ("key1", "not base64!")))),
     f'{P0}.aescbc.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded'),
    (doc(entry(["secrets"], aes("aesgcm", ("", K32)))),
     f"{P0}.aesgcm.keys[0].name: Required value: name is a mandatory field for a key"),
    (doc(entry(["secrets"], {"aesgcm": {"keys": []}})),
     f"{P0}.aesgcm.keys: Required value: at least one keys is required"),
    (doc(entry(["secrets"]), ),
     "resources[0].providers: Required value: at least one resources[0].providers is required"),
    (doc(entry([], {"identity": {}})),
     "resources[0].resources: Required value: at least one resources[0].resources is required"),
    (doc(entry(["secrets"], {"identity": {}, "aesgcm": {"keys": [{"name": "k", "secret": K32}]}})),
     f'{P0}: Invalid value: ["aesgcm","identity"]: more than one provider specified in a single element, '
     "should split into different list elements"),
    (doc(entry(["secrets"], {"kms": {"name": "vault", "endpoint": "unix:///kms.sock"}})),
     f"{P0}.kms: Unsupported value: the kms provider needs a KMS plugin, which boxk8s does not run: "
     "use aesgcm, aescbc or secretbox"),
    (doc(entry(["Secrets"], {"identity": {}})),
     'resources[0].resources[0]: Invalid value: "Secrets": resource name should not contain capital letters'),
    (doc(entry(["*"], {"identity": {}})),
     "resources[0].resources[0]: Invalid value: \"*\": use '*.' to encrypt all the resources from core API "
     "group or *.* to encrypt all resources"),
    (doc(entry(["secrets.*"], {"identity": {}})),
     'resources[0].resources[0]: Invalid value: "secrets.*": encrypting the same resource across groups is '
     "not supported"),
    (doc(entry(["secrets", "secrets"], {"identity": {}})),
     'resources[0].resources: Invalid value: ["secrets","secrets"]: the same resource cannot be specified '
     "multiple times"),
    (doc(entry(["secrets", "*."], {"identity": {}})),
     "resources[0].resources: Invalid value: [\"secrets\",\"*.\"]: using overlapping resources such as "
     "'secrets' and '*.' in the same resource list is not allowed as they will be masked"),
    (doc(entry(["*.*"], {"identity": {}}), entry(["secrets"], {"identity": {}})),
     'resource "secrets" is masked by earlier rule "*.*"'),
    (doc(entry(["*.apps"], {"identity": {}}), entry(["deployments.apps"], {"identity": {}})),
     'resource "deployments.apps" is masked by earlier rule "*.apps"'),
    (doc(entry(["secrets"], {"aesgcm": {"keys": [{"name": "k", "secret": K32}], "key": 1}})),
     f'strict decoding error: unknown field "{P0}.aesgcm.key"'),
    (doc(entry([], )), "[resources[0].resources: Required value: at least one resources[0].resources is "
                       "required, resources[0].providers: Required value: at least one resources[0].providers "
                       "is required]"),
    (doc(), "resources: Required value: at least one resources is required"),
    ("apiVersion: v1\nkind: EncryptionConfig\nresources: []\n",
     "apiVersion must be apiserver.config.k8s.io/v1 and kind EncryptionConfiguration, not 'v1' and "
     "'EncryptionConfig'"),
    ("", "the file is empty"),
    ("resources: [", "not YAML or JSON: while parsing a flow node"),
])
def test_refused_as_the_apiserver_refuses(text: str, message: str) -> None:
    assert refused(text) == message


def test_errors_never_show_a_secret() -> None:
    secret = base64.b64encode(b"the secret text!x").decode()  # 17 bytes: a wrong length
    assert secret not in refused(doc(entry(["secrets"], aes("aesgcm", ("key1", secret)))))


def test_the_file_error_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(EncryptionConfigError, match=f'error opening encryption provider configuration file "{missing}"'):
        load_encryption_config(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text(doc())
    with pytest.raises(EncryptionConfigError) as info:
        load_encryption_config(bad)
    assert str(info.value) == (f'error while parsing encryption provider configuration file "{bad}": '
                               "resources: Required value: at least one resources is required")


def test_providers_by_resource_in_file_order() -> None:
    """A resource named in two entries gets both providers' lists, the earlier entry's first."""
    config = parse_encryption_config(doc(
        entry(["events"], {"identity": {}}),
        entry(["secrets", "deployments.apps"], aes("aescbc")),
        entry(["secrets"], aes("aesgcm")),
        entry(["*.*"], aes("secretbox")),
    ))
    found = {gr: [p.kind for p in ps] for gr, ps in providers_by_resource(config).items()}
    assert found == {("", "events"): ["identity"], ("", "secrets"): ["aescbc", "aesgcm"],
                     ("apps", "deployments"): ["aescbc"], ("*", "*"): ["secretbox"]}


def test_lookup_goes_from_the_resource_to_its_group_to_everything() -> None:
    assert resource_lookup_order(("apps", "deployments")) == (("apps", "deployments"), ("apps", "*"), ("*", "*"))
    assert resource_lookup_order(("", "secrets")) == (("", "secrets"), ("", "*"), ("*", "*"))
