"""The `boxk8s` command.

`--help`, `version`, `status` and `kubeconfig` answer at once: this module imports only click at
the top, and the cluster (aiohttp, SQLAlchemy, the API, the kubelets) is imported inside `up`.
Every failure is one line and a non-zero exit, never a traceback (`--log-level DEBUG` shows it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from boxk8s.config import AUTO_PORT, AUTO_SUBNET, DEFAULT_SUBNET_POOL, ClusterSettings

if TYPE_CHECKING:
    import asyncio

    from boxk8s.cluster import Cluster, Ready

log = logging.getLogger("boxk8s")

START_SECONDS = 120.0  # how long `up -d` waits for its cluster (the first start imports images)
STOP_SECONDS = 20.0  # how long `down` waits after SIGTERM (the cluster stops in under its own 10 s)

state_dir_option = click.option(
    "--state-dir", type=click.Path(path_type=Path), default=Path(".boxk8s"), show_default=True,
    help="Where the cluster keeps its database, certificates and kubeconfig.",
)


class BoxGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:
            log.debug("%s failed", ctx.invoked_subcommand, exc_info=True)
            while isinstance(exc, ExceptionGroup):  # a task of the cluster's TaskGroup: say its reason
                exc = exc.exceptions[0]
            if isinstance(exc, click.ClickException):
                raise exc from None
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise click.ClickException(text) from None


@click.group(cls=BoxGroup)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def main(log_level: str) -> None:
    """A whole Kubernetes cluster in one process, for local development."""
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# --- up ---------------------------------------------------------------------------------------------

@main.command()
@state_dir_option
@click.option("-d", "--detach", is_flag=True,
              help="Run in the background (log: STATE_DIR/boxk8s.log); return once the API answers.")
@click.option("--port", type=int, default=AUTO_PORT,
              help="API port (0: any free one). Default: the last start's, else 6443, else the next free one.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the API, NodePort Services and the Ingress proxy listen on.")
@click.option("--ingress-port", type=int, default=AUTO_PORT,
              help="Port of the Ingress proxy (0: off). Default: the last start's, else 8080, else the next free one.")
@click.option("--ingress-tls-port", type=int, default=AUTO_PORT,
              help="TLS port of the Ingress proxy (0: off). Default: as --ingress-port, from 8443.")
@click.option("--no-kubeconfig", is_flag=True,
              help="Do not merge the `boxk8s-<cluster>` context into $KUBECONFIG or ~/.kube/config.")
@click.option("--nodes", default=1, show_default=True, help="Nodes whose pods run as Docker containers.")
@click.option("--fake-nodes", default=0, show_default=True, help="Simulated nodes: pods run instantly, no Docker.")
@click.option("--cluster-name", default="", help="Names and labels the Docker objects (default: from the state folder).")
@click.option("--node-cpu", default=0, help="CPU per node in millicores (default: the host's split between nodes).")
@click.option("--node-memory-mib", default=0, help="Memory per node in MiB (default: the host's split between nodes).")
@click.option("--pod-subnet", default=AUTO_SUBNET, show_default=True,
              help="Subnet of the pods' Docker network. auto: the one of the last start, else the first /16 "
                   "of the pool that no Docker network overlaps.")
@click.option("--subnet-pool", default=DEFAULT_SUBNET_POOL, show_default=True, envvar="BOXK8S_SUBNET_POOL",
              help="First subnet `auto` tries; then the 11 of its size after it (10.245.0.0/16, …).")
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
@click.option("--metric-resolution", default=15.0, show_default=True,
              help="Seconds between samples of the containers' usage (kubectl top, the HPAs), as metrics-server's.")
@click.option("--hpa-sync-period", default=15.0, show_default=True,
              help="Seconds between two syncs of each HorizontalPodAutoscaler.")
@click.option("-f", "--filename", "manifests", multiple=True, default=("manifests",), show_default=True,
              metavar="PATH", help="Manifests (files or folders, searched recursively) applied at start and "
                                   "on every save; a document removed from them is pruned.")
@click.option("--wait", is_flag=True,
              help="Once every workload of the manifests is ready, exit 0 (with -d: return, leaving the cluster "
                   "running); exit 1 at the timeout or as soon as a pod cannot succeed, saying why.")
@click.option("--timeout", default="120s", show_default=True, metavar="DURATION",
              help="How long --wait waits (e.g. 90s, 5m).")
@click.option("--encryption-provider-config", type=click.Path(path_type=Path, dir_okay=False, resolve_path=True),
              metavar="FILE", help="An EncryptionConfiguration (as kube-apiserver's): encrypt Secrets (or other "
                                   "resources) at rest with aesgcm, aescbc or secretbox.")
@click.option("--snapshot-interval", default="0", show_default=True, metavar="DURATION",
              help="Take a backup of the cluster into STATE_DIR/snapshots this often (e.g. 30m, 1h; 0: never).")
@click.option("--snapshot-keep", default=5, show_default=True, help="Scheduled snapshots kept (the newest).")
@click.pass_context
def up(ctx: click.Context, state_dir: Path, detach: bool, port: int, host: str, ingress_port: int,
       ingress_tls_port: int, no_kubeconfig: bool, nodes: int, fake_nodes: int, cluster_name: str, node_cpu: int,
       node_memory_mib: int, pod_subnet: str, subnet_pool: str, service_cidr: str, dns_upstream: tuple[str, ...],
       crashloop_base: float, node_grace: float, eviction_seconds: float, metric_resolution: float,
       hpa_sync_period: float, manifests: tuple[str, ...], wait: bool, timeout: str,
       encryption_provider_config: Path | None, snapshot_interval: str, snapshot_keep: int) -> None:
    """Run the cluster and the project's manifests: in the foreground until Ctrl-C or SIGTERM (with a live
    status view on a terminal), or with -d in the background."""
    import ipaddress

    from boxk8s import instance, placement

    try:
        if pod_subnet != AUTO_SUBNET:
            ipaddress.ip_network(pod_subnet, strict=False)
        placement.subnet_candidates(subnet_pool, 1)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--pod-subnet/--subnet-pool") from None
    wait_seconds = _duration(timeout) if wait else 0.0
    if encryption_provider_config is not None:
        _check_encryption_config(encryption_provider_config)
    snapshot_seconds = _duration(snapshot_interval, "--snapshot-interval", zero=True)
    if snapshot_keep < 1:
        raise click.BadParameter("must be at least 1", param_hint="--snapshot-keep")
    pid = instance.running_pid(state_dir)
    if pid:
        raise click.ClickException(str(instance.AlreadyRunning(state_dir, pid)))
    if detach:
        _up_detached(ctx, state_dir, wait_seconds)
        return
    settings = ClusterSettings(
        state_dir=state_dir, host=host, port=port, ingress_port=ingress_port, ingress_tls_port=ingress_tls_port,
        write_kubeconfig=not no_kubeconfig,
        nodes=nodes,
        fake_nodes=fake_nodes, cluster_name=cluster_name, node_cpu_millis=node_cpu,
        node_memory_bytes=node_memory_mib * 1024**2, crashloop_base_seconds=crashloop_base,
        pod_subnet=pod_subnet, subnet_pool=subnet_pool, service_cidr=service_cidr, dns_upstreams=dns_upstream,
        node_grace_seconds=node_grace, pod_eviction_seconds=eviction_seconds,
        metric_resolution_seconds=metric_resolution, hpa_sync_seconds=hpa_sync_period,
        heartbeat_seconds=min(ClusterSettings.heartbeat_seconds, node_grace / 4),  # several beats per grace
        manifests=manifests, wait_seconds=wait_seconds, encryption_provider_config=encryption_provider_config,
        snapshot_interval_seconds=snapshot_seconds, snapshot_keep=snapshot_keep,
        view=sys.stdout.isatty() and not wait and not instance.is_background_child(),
    )
    _up_foreground(settings)


def _check_encryption_config(path: Path) -> None:
    """Refuse a bad EncryptionConfiguration before anything starts, in one line."""
    from boxk8s.store.encryption import EncryptionConfigError, load_encryption_config

    try:
        load_encryption_config(path)
    except EncryptionConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _duration(text: str, option: str = "--timeout", zero: bool = False) -> float:
    """`120`, `90s`, `5m`, `1h` → seconds (with `zero`, 0 is allowed: off)."""
    units = {"s": 1, "m": 60, "h": 3600}
    value = text.strip().lower()
    try:
        if value and value[-1] in units:
            seconds = float(value[:-1]) * units[value[-1]]
        else:
            seconds = float(value)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 90s, 5m)", param_hint=option) from None
    if seconds < 0 or (seconds == 0 and not zero):
        raise click.BadParameter("must be more than 0", param_hint=option)
    return seconds


def _up_foreground(settings: ClusterSettings) -> None:
    import asyncio

    from boxk8s import instance

    try:
        lock = instance.PidLock.claim(settings.state_dir)
    except instance.AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    instance.clear_ready(settings.state_dir)
    outcome: list[bool] = []
    try:
        asyncio.run(_serve(settings, outcome))
    except OSError as e:
        raise click.ClickException(str(e)) from e
    finally:
        instance.clear_ready(settings.state_dir)
        lock.release()
    click.echo("boxk8s stopped")
    if outcome and not outcome[0]:
        raise click.exceptions.Exit(1)


async def _serve(settings: ClusterSettings, outcome: list[bool]) -> None:
    import asyncio
    import signal

    from boxk8s.cluster import Cluster

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cluster = Cluster(settings)

    def ready(r: Ready) -> Coroutine[Any, Any, None]:
        click.echo(f"boxk8s is ready in {r.seconds:.2f}s: API at {r.server}")
        merged = f" (context `{r.context}` merged into {r.merged_into})" if r.merged_into else ""
        click.echo(f"kubeconfig: {r.kubeconfig_path}{merged}")
        if r.ingress_urls:
            click.echo(f"Ingress at {' and '.join(r.ingress_urls)}")
        sys.stdout.flush()
        return _report_readiness(cluster, r, stop, outcome)

    await cluster.run(stop, ready)


async def _report_readiness(cluster: Cluster, r: Ready, stop: asyncio.Event, outcome: list[bool]) -> None:
    """Once the cluster listens: ask readiness.check (the seam for `--wait`: a workload check with
    a timeout replaces it there), then say the outcome here and in ready.json, which a parent
    `up -d` waits for. A `--wait` option of `up` reaches a background child unchanged
    (_child_args), so the child waits and the parent reports what it wrote."""
    from boxk8s import instance
    from boxk8s.cluster import readiness

    try:
        ok, text = await readiness.check(cluster, r)
    except Exception as exc:  # a failed check must not stop the cluster
        log.exception("the readiness check failed")
        ok, text = False, f"the readiness check failed: {exc}"
    instance.write_ready(cluster.settings.state_dir, ok, text, api=r.server, context=r.context,
                         kubeconfig=r.kubeconfig_path, merged_into=r.merged_into, ingress=list(r.ingress_urls),
                         pod_subnet=r.pod_subnet, seconds=round(r.seconds, 3))
    if not ok:
        click.echo(f"not ready: {text}")
    elif cluster.settings.wait_seconds:
        click.echo(text)
    sys.stdout.flush()
    outcome.append(ok)
    if cluster.settings.wait_seconds and not instance.is_background_child():
        stop.set()  # `up --wait` in the foreground: the check is the job (CI), its outcome the exit code


def _child_args(ctx: click.Context) -> list[str]:
    """The command line of `up` again, without -d: what the user gave, defaults left to the child."""
    args = ["--log-level", str(ctx.find_root().params["log_level"]), "up"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in (None, "detach"):
            continue
        if ctx.get_parameter_source(param.name) in (click.core.ParameterSource.DEFAULT,
                                                    click.core.ParameterSource.DEFAULT_MAP):
            continue
        flag, value = max(param.opts, key=len), ctx.params[param.name]
        if param.is_flag:
            args += [flag] if value else []
        elif param.multiple:
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, str(value)]
    return args


def _up_detached(ctx: click.Context, state_dir: Path, wait_seconds: float = 0.0) -> None:
    """Start `up` again as a background process and wait for its ready.json (or its exit). With
    `--wait --timeout T` the wait here becomes START_SECONDS + T."""
    from boxk8s import instance

    instance.clear_ready(state_dir)
    log_path = state_dir / instance.LOG_FILE
    offset = log_path.stat().st_size if log_path.exists() else 0
    # The child is told it runs in the background: with --wait it reports and keeps running.
    env = {**instance.child_env(), instance.BACKGROUND_ENV: "1"}
    proc = instance.start_background(instance.python_command(*_child_args(ctx)), state_dir, env)
    try:
        ready = instance.wait_ready(state_dir, proc, START_SECONDS + wait_seconds, offset)
    except instance.StartFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"boxk8s runs in the background (pid {proc.pid}), ready in {ready.get('seconds', 0):.2f}s")
    click.echo(f"  API:      {ready.get('api', '')}")
    if ready.get("merged_into"):
        click.echo(f"  context:  {ready.get('context', '')} (in {ready['merged_into']})")
    else:
        click.echo(f"  kubeconfig: {ready.get('kubeconfig', '')}")
    if ready.get("ingress"):
        click.echo(f"  Ingress:  {'  '.join(ready['ingress'])}")
    click.echo(f"  log:      {log_path}   (boxk8s status | logs WORKLOAD | down)")
    if not ready.get("ok"):
        click.echo(f"not ready: {ready.get('text', '')}", err=True)
        raise click.ClickException("the app is not ready (the cluster keeps running; `boxk8s down` stops it)")
    if wait_seconds:
        click.echo(ready.get("text", ""))


# --- the running cluster ----------------------------------------------------------------------------

def _require_cluster(state_dir: Path) -> str:
    from boxk8s import instance

    name = instance.cluster_name(state_dir) or instance.read_record(state_dir).cluster
    if not name:
        raise click.ClickException(f"no cluster in {state_dir}: `boxk8s up -d` starts one")
    return name


@main.command()
@state_dir_option
@click.pass_context
def status(ctx: click.Context, state_dir: Path) -> None:
    """Whether the cluster runs, where it answers, and its workloads (exit 1: not running)."""
    from boxk8s.remote import status as cluster_status

    _require_cluster(state_dir)
    s = cluster_status.gather(state_dir)
    render = cluster_status.render_rich if sys.stdout.isatty() else cluster_status.render_plain
    render(s, sys.stdout)
    ctx.exit(0 if s.running else 1)


@main.command()
@state_dir_option
@click.option("--purge", is_flag=True,
              help="Also remove its volumes (the claims' data), its kubeconfig context and the state folder.")
@click.option("--timeout", default=STOP_SECONDS, show_default=True,
              help="Seconds to wait for the cluster to stop after SIGTERM, before SIGKILL.")
def down(state_dir: Path, purge: bool, timeout: float) -> None:
    """Stop the cluster and remove its containers and network (its data stays, unless --purge)."""
    import asyncio
    import shutil

    from boxk8s import instance
    from boxk8s.kubelet.runtime.docker import remove_cluster

    name = _require_cluster(state_dir)
    pid = instance.running_pid(state_dir)
    if pid:
        clean = instance.stop_process(pid, timeout)
        click.echo(f"stopped boxk8s (pid {pid})" + ("" if clean else f": killed, it did not stop in {timeout:g}s"))
    removed = asyncio.run(remove_cluster(name, volumes=purge))
    what = [f"{len(removed.containers)} container(s)"] + [f"network {n}" for n in removed.networks]
    if purge:
        what.append(f"{len(removed.volumes)} volume(s)")
    click.echo(f"removed {', '.join(what)} of cluster {name}")
    if purge:
        from boxk8s import kubeconfig

        record = instance.read_record(state_dir)
        if record.user_kubeconfig and record.context and \
                kubeconfig.remove_from(Path(record.user_kubeconfig), record.context):
            click.echo(f"removed context {record.context} from {record.user_kubeconfig}")
        shutil.rmtree(state_dir)
        click.echo(f"removed {state_dir}")


@main.command()
@state_dir_option
@click.argument("workload")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Follow the logs, and those of the workload's new pods.")
@click.option("--since", default="", help="Only lines newer than this (30s, 5m, 1h).")
@click.option("--tail", type=int, default=None, help="Lines from the end of each pod's log.")
def logs(state_dir: Path, workload: str, namespace: str, follow: bool, since: str, tail: int | None) -> None:
    """Logs of all pods of WORKLOAD (deploy/NAME, sts/NAME, ds/NAME, job/NAME, or a pod name), each line
    prefixed [pod]."""
    from boxk8s.remote.client import Access
    from boxk8s.remote.logs import show_logs
    from boxk8s.remote.workloads import parse_duration, parse_target

    try:
        kind, name = parse_target(workload)
        since_seconds = int(parse_duration(since)) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    _require_running(state_dir)
    show_logs(Access.from_kubeconfig(state_dir / "kubeconfig"), namespace, kind, name, follow=follow,
              since_seconds=since_seconds, tail=tail)


def _require_running(state_dir: Path) -> None:
    from boxk8s import instance

    _require_cluster(state_dir)
    if not instance.running_pid(state_dir):
        raise click.ClickException(f"the cluster in {state_dir} is not running: `boxk8s up -d` starts it")


@main.command()
@state_dir_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def backup(state_dir: Path, file: Path) -> None:
    """Write a backup of the cluster in STATE_DIR to FILE, running or not: a consistent copy of its store
    (SQLite's online backup) with its CA, token, keys and name."""
    import time

    from boxk8s.backup.archive import write_backup
    from boxk8s.backup.plan import BackupError

    name = _require_cluster(state_dir)
    started = time.monotonic()
    try:
        manifest = write_backup(state_dir, file, cluster=name)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup of cluster {name} at revision {manifest.revision} ({manifest.objects} objects) written "
               f"to {file}: {file.stat().st_size / 1024:.0f} KiB in {time.monotonic() - started:.2f}s")


@main.command()
@state_dir_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Restore into a folder that is not empty, replacing its cluster state.")
def restore(state_dir: Path, file: Path, force: bool) -> None:
    """Restore the backup FILE into STATE_DIR (a new folder, or --force), checked whole first; then
    `boxk8s up` there runs the cluster again."""
    from boxk8s.backup.plan import BackupError
    from boxk8s.backup.restore import restore as restore_backup

    try:
        m = restore_backup(file, state_dir, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored cluster {m.cluster} at revision {m.revision} ({m.objects} objects, backed up "
               f"{m.created}) into {state_dir}: `boxk8s up --state-dir {state_dir}` starts it")


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
    from boxk8s.api.version import SERVER_VERSION

    click.echo(f"boxk8s 0.1.0 (Kubernetes {SERVER_VERSION['gitVersion']})")


@main.group()
def node() -> None:
    """Simulate node failures: `boxk8s node stop NAME`, `boxk8s node start NAME`."""


def _patch_node(state_dir: Path, name: str, value: str | None) -> None:
    """Set or remove the `boxk8s.io/simulate` annotation through the API, with the cluster's kubeconfig."""
    from boxk8s.remote.client import Access, Api

    body = {"metadata": {"annotations": {"boxk8s.io/simulate": value}}}
    with Api(Access.from_kubeconfig(state_dir / "kubeconfig")) as api:
        api.request("PATCH", f"/api/v1/nodes/{name}", body=body, content_type="application/merge-patch+json")


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
