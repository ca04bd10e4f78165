"""Benchmark of the polling economy: upstream calls, freshness and poll times, project vs naive.

Starts the emulator, Redis (REDIS_URL, or a private redis-server) and the dashboard under
gunicorn with 2 workers (or granian: --server granian), on SQLite in RAM or PostgreSQL
(--postgres, --database-url). V viewers, each with its own logged-in session and connections, open
the list and P running actions' detail pages and poll them exactly as htmx would (see
bench/polling_viewers.py) for S seconds, while the emulator always has P actions running
(30-90 s each, replaced as they finish), so status changes and progress steps happen all
through the run. Every change a viewer is shown is timed against the emulator's schedule,
and so is each watched action's result (its finish to its panel's last answer, the 286 that
carries it; one not shown by the end counts as waiting until then).
Upstream calls are counted by the emulator; the busiest 60 s are found in its timeline.
Then the same viewers against the dashboard with the layer bypassed (naive mode) for at least
one real 60 s window. The last line printed is one JSON object. See README.md.

    .venv/bin/python bench/polling.py [--viewers 20] [--panels 10] [--interval 2] [--seconds 180]
        [--server gunicorn|granian] [--postgres | --database-url URL] [--open-from list|schedule]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.database import add_database_options, run_on_database  # noqa: E402
from bench.polling_stack import Stack  # noqa: E402
from bench.polling_viewers import Run, Truth  # noqa: E402
from dashboard.emulator.control import EmulatorControl  # noqa: E402

PROJECT_RATE_LIMIT = 100  # a Business project's limit: the project's run must never hit it
NAIVE_RATE_LIMIT = 10_000_000
ACTION_TYPES = ("VOUCHERS.IMPORT_CSV", "CUSTOMERS.BULK_UPDATE", "CAMPAIGN.VOUCHERS_GENERATE",
                "PRODUCTS.METADATA_UPDATE")
ACTION_SECONDS = (30, 90)  # how long each running action runs
# How long viewers take to arrive, whatever their number: the measured window then starts at
# the same moment of the (seeded) schedule, the same actions finishing in it.
ARRIVALS_SECONDS = 20.0


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def max_in_any_window(moments: list[float], window: float = 60.0) -> int:
    moments, best, first = sorted(moments), 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


class Actions:
    """Keeps `panels` actions running in the emulator for the whole run (a new one for each
    that finishes), and knows each one's schedule."""

    def __init__(self, control: EmulatorControl, panels: int, seed: int) -> None:
        self.control, self.panels = control, panels
        # Its own generator: the viewers' choices draw from the shared one, so every run with
        # this seed runs the same actions whatever the number of viewers.
        self.schedule = random.Random(seed)
        self.truth: dict[str, Truth] = {}
        self.ids: list[str] = []
        self._count = 0

    def create(self) -> None:
        self._count += 1
        duration = self.schedule.randint(*ACTION_SECONDS)
        created = self.control.create_action(
            ACTION_TYPES[self._count % len(ACTION_TYPES)],
            outcome="FAILED" if self._count % 4 == 3 else "DONE", duration=duration)
        moment = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
        self.truth[created["id"]] = Truth(moment.timestamp(), float(duration))
        self.ids.append(created["id"])

    def running(self) -> list[str]:
        now = time.time()
        return [i for i in self.ids if self.truth[i].index_at(now) < 101]

    async def keep_running(self, until: Callable[[], float]) -> None:
        while time.time() < until():
            for _ in range(self.panels - len(self.running())):
                await asyncio.to_thread(self.create)
            await asyncio.sleep(0.5)


async def measured(stack: Stack, args: argparse.Namespace, cookies: list[str],
                   seconds: float) -> tuple[dict, float, float]:
    control = EmulatorControl(stack.emulator_url)
    actions = Actions(control, args.panels, args.seed)
    for _ in range(args.panels):
        actions.create()
    run = Run(stack.dashboard_port, cookies, panels=args.panels, interval=args.interval,
              live_actions=actions.running, truth=actions.truth, open_from=args.open_from)
    feeder = asyncio.create_task(actions.keep_running(lambda: run.end))
    figures = await run.run(seconds, arrivals_over=args.arrivals_over,
                            drain_limit=args.drain_limit)
    await feeder
    return {"figures": figures, "actions": len(actions.ids), "pages_s": run.pages_seconds,
            "drain_s": run.drain_seconds, "drained": run.drained}, run.start, run.end


def run_mode(stack: Stack, mode: str, args: argparse.Namespace, cookies: list[str],
             seconds: float) -> dict:
    control = EmulatorControl(stack.emulator_url)
    control.reset(live_every=0,
                  rate_limit=PROJECT_RATE_LIMIT if mode == "economy" else NAIVE_RATE_LIMIT)
    stack.start_dashboard(mode)
    control.clear_stats()
    outcome, started, ended = asyncio.run(measured(stack, args, cookies, seconds))
    figures = outcome["figures"]
    everything = control.stats()["timeline"]
    timeline = [row for row in everything if started <= row[0] <= ended]
    if args.calls_log:
        # The page loads' calls too: they stay in the budget's window well into the measured one.
        with open(args.calls_log, "w") as out:
            for row in everything:
                print(json.dumps([*row, round(row[0] - started, 3)]), file=out)
    calls = len(timeline)
    lags = [lag for kind in figures.lags.values() for lag in kind]
    # A result still not shown at the end waited at least until then: counted so, not left out.
    unshown = [ended - finished for finished in figures.results_pending.values()]
    results = figures.results + unshown
    return {
        "mode": mode,
        "seconds": round(ended - started, 1),
        "calls": calls,
        "calls_per_min": round(calls / ((ended - started) / 60), 1),
        "max_calls_in_any_60s": max_in_any_window([row[0] for row in timeline]),
        "rate_limited_429": sum(1 for row in timeline if row[3] == 429),
        "freshness_p50_s": _round(percentile(lags, 0.5)),
        "freshness_p95_s": _round(percentile(lags, 0.95)),
        "freshness": {kind: {"changes": len(values), "p50_s": _round(percentile(values, 0.5)),
                             "p95_s": _round(percentile(values, 0.95))}
                      for kind, values in [*figures.lags.items(),
                                           ("finished_panels", figures.finished),
                                           ("results", results)]},
        "results_not_shown_by_end": len(unshown),
        "polls_asked": figures.polls_asked,
        "polls_served": figures.polls_served,
        "unchanged_answers": figures.unchanged,
        # The interval the server set at each swap: longer than asked while refreshes wait
        # for the budget (dashboard/polling/reads.poll_interval).
        "told_interval_p50_s": _round(percentile(figures.told_s, 0.5)),
        "told_interval_p95_s": _round(percentile(figures.told_s, 0.95)),
        # The early poll each swap set, just after the next refresh (dashboard/polling/align.py).
        "early_polls_set": len(figures.early_s),
        "early_poll_p50_s": _round(percentile(figures.early_s, 0.5)),
        "send_lag_p95_ms": _round(percentile(figures.send_lag_ms, 0.95)),
        "poll_p50_ms": _round(percentile(figures.poll_ms, 0.5)),
        "poll_p95_ms": _round(percentile(figures.poll_ms, 0.95)),
        "page_p50_ms": _round(percentile(figures.page_ms, 0.5)),
        "page_loads": len(figures.page_ms),
        "page_loads_s": _round(outcome["pages_s"], 1),
        "drain_s": _round(outcome["drain_s"], 1),
        "drained": outcome["drained"],
        "actions_run": outcome["actions"],
        "errors": figures.errors,
    }


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def report(figures: dict) -> None:
    print(f"  {figures['mode']:8} {figures['seconds']:>6} s  upstream calls {figures['calls']:>6}"
          f"  ({figures['calls_per_min']}/min, max {figures['max_calls_in_any_60s']} in any 60 s,"
          f" 429s {figures['rate_limited_429']}); {figures['actions_run']} actions ran")
    print(f"           polls asked {figures['polls_asked']}, served {figures['polls_served']}"
          f" ({figures['unchanged_answers']} swapped nothing), generator lag p95"
          f" {figures['send_lag_p95_ms']} ms; {figures['early_polls_set']} early polls set"
          f" (p50 {figures['early_poll_p50_s']} s after the swap);"
          f" poll p50 {figures['poll_p50_ms']} ms"
          f" p95 {figures['poll_p95_ms']} ms; page loads p50 {figures['page_p50_ms']} ms")
    print(f"           freshness p50 {figures['freshness_p50_s']} s p95"
          f" {figures['freshness_p95_s']} s; {json.dumps(figures['freshness'])};"
          f" before the window: {figures['page_loads']} page loads in"
          f" {figures['page_loads_s']} s, backlog drained in {figures['drain_s']} s"
          f"{'' if figures['drained'] else ' (NOT drained: the window began anyway)'};"
          f" errors {figures['errors'] or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--panels", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=180.0,
                        help="length of the project's run (at least 60 for a real window)")
    parser.add_argument("--naive-seconds", type=float, default=65.0,
                        help="length of the naive run (at least one real 60 s window)")
    parser.add_argument("--skip-naive", action="store_true", help="only the project's mode")
    parser.add_argument("--arrivals-over", type=float, default=None,
                        help="spread the viewers' page loads over this many seconds "
                             f"(default: {ARRIVALS_SECONDS:g}, or one interval per 20 viewers "
                             "when that is longer)")
    parser.add_argument("--seed", type=int, default=1,
                        help="the actions' schedule (durations): the same seed runs the same "
                             "actions, so runs with different viewer counts compare like for like")
    parser.add_argument("--drain-limit", type=float, default=120.0,
                        help="longest wait for the page loads' backlog before the window")
    parser.add_argument("--open-from", choices=("list", "schedule"), default="list",
                        help="where a viewer whose action finished finds another: its own "
                             "list (as a person does) or the emulator's schedule (any running "
                             "action, listed yet or not)")
    parser.add_argument("--calls-log", metavar="FILE",
                        help="write every upstream call the emulator saw, the page loads' "
                             "before the window too, one JSON line each: [epoch seconds, method, "
                             "route, status, seconds from the window's start]")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn",
                        help="the dashboard's server (README: Running in production)")
    add_database_options(parser, "SQLite in RAM, whose one writer lock the workers' threads "
                                 "queue for")
    run_on_database(parser.parse_args(), run)


def run(args: argparse.Namespace) -> None:
    if args.arrivals_over is None:
        args.arrivals_over = max(ARRIVALS_SECONDS, args.interval * args.viewers / 20)
    budget = int(os.environ.get("VOUCHERIFY_CALLS_PER_MINUTE") or 40)
    naive = None
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as workdir:
        stack = Stack(Path(workdir), args.interval, server=args.server,
                      database_url=args.database_url)
        try:
            stack.start()
            cookies = stack.sessions(args.viewers)
            print(f"viewers {args.viewers} (a session each), panels {args.panels}, interval "
                  f"{args.interval} s, {args.seconds:g} s; {stack.server_note}; "
                  f"{stack.database_note}; cache: "
                  f"{stack.redis_note}", flush=True)
            project = run_mode(stack, "economy", args, cookies, args.seconds)
            report(project)
            queries = stack.queries_per_unchanged_poll()
            print(f"  SQL queries per unchanged panel poll (in-process): {queries}", flush=True)
            if not args.skip_naive:
                naive = run_mode(stack, "naive", args, cookies, args.naive_seconds)
                report(naive)
        finally:
            stack.close()
    # Measured, not scaled: the naive figure is its busiest real 60 s when it ran that long.
    naive_per_min = None
    if naive is not None:
        naive_per_min = (naive["max_calls_in_any_60s"] if naive["seconds"] >= 60
                         else naive["calls_per_min"])
    summary = {
        "viewers": args.viewers,
        "panels": args.panels,
        "interval_s": args.interval,
        "seconds": project["seconds"],
        "project_calls_per_min": project["calls_per_min"],
        "naive_calls_per_min": naive_per_min,
        "ratio": round(naive_per_min / max(project["calls_per_min"], 0.1), 1)
        if naive_per_min else None,
        "max_calls_in_any_60s": project["max_calls_in_any_60s"],
        "budget_per_min": budget,
        "freshness_p50_s": project["freshness_p50_s"],
        "freshness_p95_s": project["freshness_p95_s"],
        "poll_p50_ms": project["poll_p50_ms"],
        "poll_p95_ms": project["poll_p95_ms"],
        "polls_asked": project["polls_asked"],
        "polls_served": project["polls_served"],
        "sql_queries_per_unchanged_poll": queries,
        "errors": project["errors"],
        "rate_limited_429": project["rate_limited_429"],
        "generator_lag_p95_ms": project["send_lag_p95_ms"],
        "told_interval_p50_s": project["told_interval_p50_s"],
        "told_interval_p95_s": project["told_interval_p95_s"],
        "early_polls_set": project["early_polls_set"],
        "early_poll_p50_s": project["early_poll_p50_s"],
        # From a watched action's finish to its panel's last answer, with the result.
        "result_wait_p50_s": project["freshness"]["results"]["p50_s"],
        "result_wait_p95_s": project["freshness"]["results"]["p95_s"],
        "results_timed": project["freshness"]["results"]["changes"],
        "results_not_shown_by_end": project["results_not_shown_by_end"],
        "naive_seconds": naive["seconds"] if naive else None,
        "page_loads_s": project["page_loads_s"],
        "drain_s": project["drain_s"],
        "drained": project["drained"],
        "server": stack.server_note,
        "open_from": args.open_from,
        "seed": args.seed,
        "arrivals_over_s": args.arrivals_over,
        "database": stack.database_note,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
