"""Settings for every component, with the defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ClusterSettings:
    state_dir: Path = field(default_factory=lambda: Path(".boxk8s"))
    host: str = "127.0.0.1"
    port: int = 6443
    write_kubeconfig: bool = True
    kubeconfig_path: Path | None = None  # where to merge the context; None: $KUBECONFIG or ~/.kube/config
    stop_timeout: float = 10.0
    compaction_interval: float = 300.0
    compaction_keep: int = 10_000

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def own_kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"
