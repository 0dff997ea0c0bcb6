"""Name and value rules (k8s.io/apimachinery/pkg/util/validation): each returns the apiserver's
messages for a bad value, none for a good one; callers wrap them into field errors.

Most rules are "at most N characters and matching a regular expression", reported with the
regular expression and examples as IsDNS1123Label and friends report them (`_shaped`).
"""

from __future__ import annotations

import re

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"

_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_DNS1035_RE = re.compile(_DNS1035_FMT)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_PORT_NAME_CHARS_RE = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER_RE = re.compile("[a-z]")


def _examples(*xs: str) -> str:
    return ",  or ".join(f"'{x}'" for x in xs)


def _regex_msg(what: str, fmt: str, *examples: str) -> str:
    return f"{what} (e.g. {_examples(*examples)}, regex used for validation is '{fmt}')"


def max_len(n: int) -> str:
    """validation.MaxLenError's wording."""
    return f"must be no more than {n} characters"


_LABEL_MSG = _regex_msg(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character", _LABEL_FMT, "my-name", "123-abc")
_SUBDOMAIN_MSG = _regex_msg(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character", _SUBDOMAIN_FMT, "example.com")
_DNS1035_MSG = _regex_msg(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character", _DNS1035_FMT, "my-name", "abc-123")
_LABEL_VALUE_MSG = _regex_msg(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character", _LABEL_VALUE_FMT,
    "MyValue", "my_value", "12345")
_CONFIG_KEY_MSG = _regex_msg(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", _CONFIG_KEY_FMT,
    "key.name", "KEY_NAME", "key-name")
_QNAME_NAME_MSG = _regex_msg(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character", _QNAME_FMT, "MyName", "my.name", "123-abc")


def _shaped(value: str, limit: int, regex: re.Pattern[str], message: str) -> list[str]:
    """The length error (if longer than `limit`), then the format error (if `regex` does not match)."""
    errs = [max_len(limit)] if len(value) > limit else []
    if not regex.fullmatch(value):
        errs.append(message)
    return errs


def dns1123_label(value: str) -> list[str]:
    return _shaped(value, 63, _LABEL_RE, _LABEL_MSG)


def dns1123_subdomain(value: str) -> list[str]:
    return _shaped(value, 253, _SUBDOMAIN_RE, _SUBDOMAIN_MSG)


def dns1035_label(value: str) -> list[str]:
    return _shaped(value, 63, _DNS1035_RE, _DNS1035_MSG)


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: label and annotation keys, `[prefix/]name`."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
        errs = dns1123_subdomain(prefix)
        if errs:
            return ["prefix part " + e for e in errs]
    else:
        return [_regex_msg(
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character", _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        return ["name part must be non-empty"]
    return ["name part " + e for e in _shaped(name, 63, _QNAME_RE, _QNAME_NAME_MSG)]


def label_value(value: str) -> list[str]:
    return _shaped(value, 63, _LABEL_VALUE_RE, _LABEL_VALUE_MSG)


def config_key(value: str) -> list[str]:
    errs = _shaped(value, 253, _CONFIG_KEY_RE, _CONFIG_KEY_MSG)
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    errs = []
    if not 1 <= len(value) <= 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        errs.append("must contain only alpha-numerics and '-'")
    if not _PORT_NAME_LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]
