"""The projected ServiceAccount tokens of a pod, as the kubelet's projected volume plugin and token
manager (pkg/kubelet/token/token_manager.go) handle them: each `serviceAccountToken` source asks
the API for a token bound to the pod (TokenRequest with its audience and expirationSeconds), and a
token is requested again once 80% of its life has passed (or after 24 h), so the file in the pod
always holds a valid token. Pure: the worker does the requests and writes the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

DEFAULT_EXPIRATION_SECONDS = 3600  # SetDefaults_ServiceAccountTokenProjection
MAX_TTL_SECONDS = 24 * 60 * 60  # maxTTL: never keep a token longer than a day
REFRESH_FRACTION = 0.2  # refresh within the last 20% of its life


@dataclass(frozen=True)
class Source:
    """One serviceAccountToken projection: where it goes and what it asks for."""

    volume: str
    index: int  # its place in the volume's sources
    path: str
    audience: str
    expiration_seconds: int


@dataclass(frozen=True)
class Issued:
    """A token the API gave: its text, when it expires and for how long it was asked."""

    token: str
    expires_at: float  # Unix time
    expiration_seconds: int

    @property
    def issued_at(self) -> float:
        return self.expires_at - self.expiration_seconds

    def refresh_at(self) -> float:
        """requiresRefresh's threshold, without its jitter: 80% of the life, or a day after issue."""
        return min(self.issued_at + MAX_TTL_SECONDS,
                   self.expires_at - self.expiration_seconds * REFRESH_FRACTION)


def token_sources(pod: Mapping[str, Any]) -> list[Source]:
    """The pod's serviceAccountToken projections, in volume order."""
    out = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        for i, source in enumerate((volume.get("projected") or {}).get("sources") or []):
            sat = source.get("serviceAccountToken")
            if sat is not None:
                out.append(Source(volume.get("name", ""), i, sat.get("path") or "token", sat.get("audience") or "",
                                  int(sat.get("expirationSeconds") or DEFAULT_EXPIRATION_SECONDS)))
    return out


def token_request(pod: Mapping[str, Any], source: Source) -> Obj:
    """The TokenRequest the projected volume plugin sends: bound to the pod."""
    md = pod.get("metadata") or {}
    return {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {
            "audiences": [source.audience] if source.audience else None,
            "expirationSeconds": source.expiration_seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": md.get("name", ""), "uid": md.get("uid", "")},
        },
    }


def key(source: Source) -> tuple[str, int]:
    """Where a token lives among the pod's volumes."""
    return source.volume, source.index


def plan_refresh(sources: list[Source], issued: Mapping[tuple[str, int], Issued], now: float) -> list[Source]:
    """The sources whose token is missing or due for refresh."""
    due = []
    for source in sources:
        found = issued.get(key(source))
        if found is None or now >= found.refresh_at():
            due.append(source)
    return due


def next_refresh(issued: Mapping[tuple[str, int], Issued]) -> float | None:
    """When the next token is due (None: no tokens)."""
    return min((i.refresh_at() for i in issued.values()), default=None)
