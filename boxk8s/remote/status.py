"""`boxk8s status`: whether the cluster of a state folder runs, where it answers, and its workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from boxk8s import instance
from boxk8s.remote.client import Access, Api, RemoteError
from boxk8s.remote.workloads import WORKLOADS, WorkloadRow, workload_rows

API_SECONDS = 3.0


@dataclass
class ClusterStatus:
    state_dir: Path
    name: str
    pid: int | None  # None: not running
    record: instance.Record
    api_url: str = ""
    context: str = ""
    workloads: list[WorkloadRow] = field(default_factory=list)
    error: str = ""  # why the workloads could not be read

    @property
    def running(self) -> bool:
        return self.pid is not None


def gather(state_dir: Path) -> ClusterStatus:
    record = instance.read_record(state_dir)
    status = ClusterStatus(state_dir, instance.cluster_name(state_dir) or record.cluster,
                           instance.running_pid(state_dir), record, record.api_url, record.context)
    if not status.running:
        return status
    try:
        access = Access.from_kubeconfig(state_dir / "kubeconfig")
        status.api_url, status.context = access.server, status.context or access.context
        with Api(access, timeout=API_SECONDS) as api:
            listed = [(kind, api.get(kind.path())["items"]) for kind in WORKLOADS]
    except RemoteError as exc:
        status.error = str(exc)
    else:
        status.workloads = workload_rows(listed)
    return status


def _facts(s: ClusterStatus) -> list[tuple[str, str]]:
    state = f"running (pid {s.pid})" if s.running else "not running"
    facts = [("cluster", f"{s.name or '?'}: {state}")]
    if s.api_url:
        facts.append(("API", s.api_url + (f"  (kubeconfig context {s.context})" if s.context else "")))
    if s.record.ingress_urls:
        facts.append(("Ingress", "  ".join(s.record.ingress_urls)))
    if s.record.pod_subnet:
        facts.append(("pod subnet", s.record.pod_subnet))
    facts.append(("state", str(s.state_dir)))
    return facts


def _ratio(row: WorkloadRow) -> str:
    return f"{row.ready}/{row.desired}"


def render_plain(s: ClusterStatus, out: TextIO) -> None:
    facts = _facts(s)
    width = max(len(k) for k, _ in facts)
    for key, value in facts:
        out.write(f"{key:<{width}}  {value}\n")
    if not s.running:
        out.write("\n`boxk8s up -d` starts it.\n")
        return
    out.write("\n")
    if s.error:
        out.write(f"workloads: unknown ({s.error})\n")
        return
    if not s.workloads:
        out.write("no workloads\n")
        return
    rows = [("NAMESPACE", "WORKLOAD", "READY")] + [(r.namespace, r.name, _ratio(r)) for r in s.workloads]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for ns, name, ready in rows:
        out.write(f"{ns:<{widths[0]}}   {name:<{widths[1]}}   {ready}\n")


def render_rich(s: ClusterStatus, out: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=out, highlight=False)
    for key, value in _facts(s):
        style = ("green" if s.running else "red") if key == "cluster" else "default"
        console.print(f"[bold]{key:<10}[/bold] [{style}]{escape(value)}[/{style}]")
    if not s.running:
        console.print("\n`boxk8s up -d` starts it.")
        return
    if s.error:
        console.print(f"\n[yellow]workloads: unknown ({escape(s.error)})[/yellow]")
        return
    if not s.workloads:
        console.print("\nno workloads")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAMESPACE", "WORKLOAD", "READY"):
        table.add_column(column)
    for r in s.workloads:
        table.add_row(r.namespace, r.name, f"[{'green' if r.complete else 'yellow'}]{_ratio(r)}[/]")
    console.print()
    console.print(table)
