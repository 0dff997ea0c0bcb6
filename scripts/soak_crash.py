"""Crash safety under load: `kill -9` boxk8s at random moments while clients write and pods
churn on Docker, start it again in the same state folder, and check after every round that
nothing acknowledged was lost, nothing unacknowledged is half-done, the database is intact,
no container is duplicated, orphaned or restarted, and a resuming watcher misses nothing.

    PYTHONPATH=. python3 scripts/soak_crash.py --rounds 100

Prints one line per round and a summary (the figures for docs/reliability.md); exits 1 if any
round found a problem.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.soak.model import Tally  # noqa: E402
from tests.e2e.soak.runner import Soak, SoakSettings  # noqa: E402


def line(t: Tally) -> str:
    early = f" (and {t.early_kill_after:.2f} s into the restart)" if t.early_kill_after >= 0 else ""
    return (f"round {t.round:3d}: kill after {t.kill_after:4.2f} s{early}, {t.acked:4d} acked, {t.rejected:3d} refused, "
            f"{t.unanswered} unanswered ({t.applied} applied), {t.scale_writes} scales, {t.pod_deletes} pod deletes, "
            f"{t.containers_kept} containers kept, {t.watch_events} watch events, restart {t.restart_seconds:.1f} s, "
            f"converged {t.converge_seconds:.1f} s" + (f"\n  PROBLEMS: {t.problems}" if t.problems else ""))


def summary(tallies: list[Tally], seconds: float) -> str:
    bad = [t for t in tallies if t.problems]
    total = sum(t.acked for t in tallies)
    return "\n".join([
        f"rounds: {len(tallies)} ({len(bad)} with problems) in {seconds:.0f} s, "
        f"{sum(t.early_kill_after >= 0 for t in tallies)} of them killed again while starting up",
        f"acknowledged writes checked: {total} (each in the table after its kill and in the state after restart)",
        f"refused writes checked unchanged: {sum(t.rejected for t in tallies)}",
        f"unanswered writes resolved: {sum(t.unanswered for t in tallies)} "
        f"({sum(t.applied for t in tallies)} found applied, the rest absent, none half-done)"
        if not bad else f"unanswered writes: {sum(t.unanswered for t in tallies)}",
        f"deployment scales: {sum(t.scale_writes for t in tallies)}, pod deletes: {sum(t.pod_deletes for t in tallies)}",
        f"containers running at a kill and kept across the restart: {sum(t.containers_kept for t in tallies)}",
        f"watch events compared with the table: {sum(t.watch_events for t in tallies)}",
        f"restart (`up` to the API answering a list) median: {_median([t.restart_seconds for t in tallies]):.1f} s; "
        f"convergence median: {_median([t.converge_seconds for t in tallies]):.1f} s",
    ])


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=6, help="concurrent writers")
    ap.add_argument("--load-min", type=float, default=0.5, help="seconds of load before the kill, at least")
    ap.add_argument("--load-max", type=float, default=3.0)
    ap.add_argument("--early-kills", type=float, default=0.25,
                    help="share of rounds killed again while starting up (adopting)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workdir", type=Path, default=None, help="kept afterwards (default: a temporary folder)")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-crash-"))
    settings = SoakSettings(workdir, rounds=args.rounds, clients=args.clients, load_min=args.load_min,
                            load_max=args.load_max, early_kills=args.early_kills, seed=args.seed)
    started = time.monotonic()
    print(f"soak in {workdir}", flush=True)
    tallies = asyncio.run(Soak(settings).run(lambda t: print(line(t), flush=True)))
    print(summary(tallies, time.monotonic() - started))
    return 1 if any(t.problems for t in tallies) or len(tallies) < args.rounds else 0


if __name__ == "__main__":
    sys.exit(main())
