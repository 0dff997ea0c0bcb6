"""The `boxk8s` command."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click

from boxk8s.cluster import Cluster, Ready
from boxk8s.config import ClusterSettings

log = logging.getLogger("boxk8s")

state_dir_option = click.option(
    "--state-dir", type=click.Path(path_type=Path), default=Path(".boxk8s"), show_default=True,
    help="Where the cluster keeps its database, certificates and kubeconfig.",
)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def main(log_level: str) -> None:
    """A whole Kubernetes cluster in one process, for local development."""
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command()
@state_dir_option
@click.option("--port", default=6443, show_default=True, help="API port (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the API, NodePort Services and the Ingress proxy listen on.")
@click.option("--ingress-port", default=8080, show_default=True, help="Port of the Ingress proxy (0: off).")
@click.option("--ingress-tls-port", default=8443, show_default=True, help="TLS port of the Ingress proxy (0: off).")
@click.option("--no-kubeconfig", is_flag=True, help="Do not merge a `boxk8s` context into $KUBECONFIG or ~/.kube/config.")
@click.option("--nodes", default=1, show_default=True, help="Nodes whose pods run as Docker containers.")
@click.option("--fake-nodes", default=0, show_default=True, help="Simulated nodes: pods run instantly, no Docker.")
@click.option("--cluster-name", default="", help="Names and labels the Docker objects (default: from the state folder).")
@click.option("--node-cpu", default=0, help="CPU per node in millicores (default: the host's split between nodes).")
@click.option("--node-memory-mib", default=0, help="Memory per node in MiB (default: the host's split between nodes).")
@click.option("--pod-subnet", default="10.244.0.0/16", show_default=True, help="Subnet of the pods' Docker network.")
@click.option("--service-cidr", default="", help="ClusterIP range (default: the pod subnet's top quarter, "
              "which pods reach on-link).")
@click.option("--dns-upstream", multiple=True, metavar="IP[:PORT]",
              help="Where the cluster DNS forwards names outside the cluster (repeatable; default: the "
                   "nameservers of /etc/resolv.conf, as CoreDNS's `forward . /etc/resolv.conf`).")
@click.option("--crashloop-base", default=10.0, show_default=True, help="CrashLoopBackOff base delay in seconds.")
@click.option("--node-grace", default=40.0, show_default=True,
              help="Seconds without a kubelet heartbeat before a node turns Unknown (node-monitor-grace-period).")
@click.option("--eviction-seconds", default=-1.0, show_default=True,
              help="Seconds pods stay on a not-ready/unreachable node before eviction, instead of the "
                   "default tolerations' 300 (negative: keep 300).")
def up(state_dir: Path, port: int, host: str, ingress_port: int, ingress_tls_port: int, no_kubeconfig: bool, nodes: int, fake_nodes: int,
       cluster_name: str, node_cpu: int, node_memory_mib: int, pod_subnet: str, service_cidr: str,
       dns_upstream: tuple[str, ...], crashloop_base: float, node_grace: float, eviction_seconds: float) -> None:
    """Run the cluster in the foreground until Ctrl-C or SIGTERM."""
    settings = ClusterSettings(
        state_dir=state_dir, host=host, port=port, ingress_port=ingress_port, ingress_tls_port=ingress_tls_port,
        write_kubeconfig=not no_kubeconfig,
        nodes=nodes,
        fake_nodes=fake_nodes, cluster_name=cluster_name, node_cpu_millis=node_cpu,
        node_memory_bytes=node_memory_mib * 1024**2, crashloop_base_seconds=crashloop_base,
        pod_subnet=pod_subnet, service_cidr=service_cidr, dns_upstreams=dns_upstream, node_grace_seconds=node_grace, pod_eviction_seconds=eviction_seconds,
        heartbeat_seconds=min(ClusterSettings.heartbeat_seconds, node_grace / 4),  # several beats per grace
    )

    def ready(r: Ready) -> None:
        click.echo(f"boxk8s is ready in {r.seconds:.2f}s: API at {r.server}", err=False)
        click.echo(f"kubeconfig: {r.kubeconfig_path}" + ("" if no_kubeconfig else " (context `boxk8s` merged)"))
        sys.stdout.flush()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Cluster(settings).run(stop, ready)

    try:
        asyncio.run(run())
    except OSError as e:
        raise click.ClickException(str(e)) from e
    click.echo("boxk8s stopped")


@main.command("kubeconfig")
@state_dir_option
def kubeconfig_cmd(state_dir: Path) -> None:
    """Print the kubeconfig of the cluster in STATE_DIR."""
    path = ClusterSettings(state_dir=state_dir).own_kubeconfig
    if not path.exists():
        raise click.ClickException(f"no kubeconfig at {path}: run `boxk8s up` first")
    click.echo(path.read_text(), nl=False)


@main.command()
def version() -> None:
    """Print the boxk8s version and the Kubernetes version it speaks."""
    from boxk8s.api.discovery import SERVER_VERSION

    click.echo(f"boxk8s 0.1.0 (Kubernetes {SERVER_VERSION['gitVersion']})")


@main.group()
def node() -> None:
    """Simulate node failures: `boxk8s node stop NAME`, `boxk8s node start NAME`."""


def _patch_node(state_dir: Path, name: str, value: str | None) -> None:
    """Set or remove the `boxk8s.io/simulate` annotation through the API, with the cluster's kubeconfig."""
    import base64
    import json
    import ssl

    import aiohttp
    import yaml

    path = ClusterSettings(state_dir=state_dir).own_kubeconfig
    if not path.exists():
        raise click.ClickException(f"no kubeconfig at {path}: run `boxk8s up` first")
    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    body = {"metadata": {"annotations": {"boxk8s.io/simulate": value}}}

    async def send() -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.patch(
                f"{cluster['server']}/api/v1/nodes/{name}", data=json.dumps(body), ssl=ctx,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"},
        ) as resp:
            return resp.status, await resp.text()

    try:
        status, text = asyncio.run(send())
    except aiohttp.ClientError as e:
        raise click.ClickException(f"cannot reach the cluster: {e}") from e
    if status != 200:
        try:
            text = json.loads(text).get("message", text)
        except ValueError:
            pass
        raise click.ClickException(text)


@node.command("stop")
@state_dir_option
@click.argument("name")
def node_stop(state_dir: Path, name: str) -> None:
    """Make node NAME play dead: its kubelet stops (no heartbeats) and its containers stop."""
    _patch_node(state_dir, name, "stopped")
    click.echo(f"node/{name} stopped")


@node.command("start")
@state_dir_option
@click.argument("name")
def node_start(state_dir: Path, name: str) -> None:
    """Bring node NAME back after `boxk8s node stop`."""
    _patch_node(state_dir, name, None)
    click.echo(f"node/{name} started")


if __name__ == "__main__":
    main()
