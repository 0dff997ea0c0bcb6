"""The Warning the apiserver adds to every request to a deprecated API (apiserver/pkg/endpoints/
deprecation.WarningMessage): `<group/version> <Kind> is deprecated in v<major>.<minor>+`."""

from __future__ import annotations

from boxk8s.resources.registry import ResourceType

# (group, version, plural) -> (release it was deprecated in, replacement "group/version Kind" or "").
DEPRECATED: dict[tuple[str, str, str], tuple[tuple[int, int], str]] = {
    ("", "v1", "componentstatuses"): ((1, 19), ""),
}


def warning(rt: ResourceType) -> str | None:
    found = DEPRECATED.get((rt.group, rt.version, rt.plural))
    if found is None:
        return None
    (major, minor), replacement = found
    message = f"{rt.group_version} {rt.kind} is deprecated in v{major}.{minor}+"
    return f"{message}; use {replacement}" if replacement else message
