"""Benchmark of the polling economy: upstream calls, freshness and poll times, project vs naive.

Starts the emulator, Redis (REDIS_URL, or a private redis-server) and the dashboard under
gunicorn with 2 workers; V simulated viewers each poll P live detail panels plus the list's
live rows every interval for S seconds while live actions complete. Run once in the project's
mode and once with the layer bypassed (VOUCHERIFY_POLLING_MODE=naive, shorter, against an
emulator with a huge rate limit). The last line printed is one JSON object. See README.md.

    .venv/bin/python bench/polling.py [--viewers 20] [--panels 10] [--interval 2] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.polling_stack import Stack  # noqa: E402
from bench.polling_viewers import Viewers  # noqa: E402
from dashboard.emulator.control import EmulatorControl  # noqa: E402

PROJECT_RATE_LIMIT = 100  # a Business project's limit: the project's run must never hit it
NAIVE_RATE_LIMIT = 10_000_000
ACTION_TYPES = ("VOUCHERS.IMPORT_CSV", "CUSTOMERS.BULK_UPDATE", "CAMPAIGN.VOUCHERS_GENERATE",
                "PRODUCTS.METADATA_UPDATE")


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


def create_live_actions(control: EmulatorControl, panels: int, seconds: float) -> list[dict]:
    """Live actions finishing between 15% and 90% of the run; every fourth one FAILED."""
    actions = []
    for index in range(panels):
        share = 0.15 + 0.75 * (index / max(1, panels - 1))
        duration = round(seconds * share, 1)
        created = control.create_action(ACTION_TYPES[index % len(ACTION_TYPES)],
                                         outcome="FAILED" if index % 4 == 3 else "DONE",
                                         duration=duration)
        started = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
        actions.append({"id": created["id"], "finishes": started.timestamp() + duration})
    return actions


def run_mode(stack: Stack, mode: str, args: argparse.Namespace, seconds: float) -> dict:
    control = EmulatorControl(stack.emulator_url)
    control.reset(live_every=0,
                  rate_limit=PROJECT_RATE_LIMIT if mode == "economy" else NAIVE_RATE_LIMIT)
    stack.start_dashboard(mode)
    cookie = stack.login()
    actions = create_live_actions(control, args.panels, seconds)
    idle = control.count()  # nothing asked upstream by a dashboard nobody looks at
    viewers = Viewers(stack.dashboard_port, cookie, viewers=args.viewers,
                      action_ids=[a["id"] for a in actions], interval=args.interval,
                      threads=args.client_threads)
    started = time.time()
    results = viewers.run(seconds)
    ended = time.time()
    timeline = [row for row in control.stats()["timeline"] if started <= row[0] <= ended]
    finishes = {a["id"]: a["finishes"] for a in actions}
    lags = [seen - finishes[action_id]
            for (_, action_id), seen in results.seen_terminal.items()
            if finishes[action_id] < ended]
    calls = len(timeline)
    minutes = (ended - started) / 60
    return {
        "mode": mode,
        "seconds": round(ended - started, 1),
        "calls": calls,
        "calls_when_idle": idle,
        "calls_per_min": round(calls / minutes, 1),
        "calls_per_viewer": round(calls / args.viewers, 2),
        "max_calls_in_any_60s": max_in_any_window([row[0] for row in timeline]),
        "rate_limited_429": sum(1 for row in timeline if row[3] == 429),
        "freshness_p50_s": _round(percentile(lags, 0.5)),
        "freshness_p95_s": _round(percentile(lags, 0.95)),
        "terminal_changes_seen": len(lags),
        "polls": results.polls,
        "poll_p50_ms": _round(percentile(results.poll_ms, 0.5)),
        "poll_p95_ms": _round(percentile(results.poll_ms, 0.95)),
        "page_p50_ms": _round(percentile(results.page_ms, 0.5)),
        "errors": results.errors,
    }


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def report(figures: dict) -> None:
    print(f"  {figures['mode']:8} {figures['seconds']:>6} s  upstream calls {figures['calls']:>6}"
          f"  ({figures['calls_per_min']}/min, {figures['calls_per_viewer']}/viewer,"
          f" max {figures['max_calls_in_any_60s']} in any 60 s, 429s {figures['rate_limited_429']},"
          f" idle {figures['calls_when_idle']})")
    print(f"           freshness p50 {figures['freshness_p50_s']} s"
          f" p95 {figures['freshness_p95_s']} s"
          f" over {figures['terminal_changes_seen']} changes seen;"
          f" {figures['polls']} polls p50 {figures['poll_p50_ms']} ms p95 {figures['poll_p95_ms']}"
          f" ms; page loads p50 {figures['page_p50_ms']} ms; errors {figures['errors'] or 'none'}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--panels", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--naive-seconds", type=float, default=20.0,
                        help="length of the naive run (it hammers the emulator; default 20)")
    parser.add_argument("--client-threads", type=int, default=16)
    parser.add_argument("--skip-naive", action="store_true", help="only the project's mode")
    args = parser.parse_args()
    budget = int(os.environ.get("VOUCHERIFY_CALLS_PER_MINUTE") or 40)
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as workdir:
        stack = Stack(Path(workdir), args.interval)
        try:
            stack.start()
            print(f"viewers {args.viewers}, panels {args.panels}, interval {args.interval} s, "
                  f"{args.seconds:g} s; gunicorn 2 workers; cache: {stack.redis_note}", flush=True)
            project = run_mode(stack, "economy", args, args.seconds)
            report(project)
            if args.skip_naive:
                return
            naive = run_mode(stack, "naive", args, min(args.seconds, args.naive_seconds))
            report(naive)
        finally:
            stack.close()
    summary = {
        "viewers": args.viewers,
        "panels": args.panels,
        "interval_s": args.interval,
        "seconds": args.seconds,
        "project_calls_per_min": project["calls_per_min"],
        "naive_calls_per_min": naive["calls_per_min"],
        "ratio": round(naive["calls_per_min"] / max(project["calls_per_min"], 0.1), 1),
        "project_calls_per_viewer": project["calls_per_viewer"],
        "naive_calls_per_viewer_per_min": round(naive["calls_per_min"] / args.viewers, 1),
        "max_calls_in_any_60s": project["max_calls_in_any_60s"],
        "budget_per_min": budget,
        "rate_limited_429": project["rate_limited_429"],
        "calls_when_idle": project["calls_when_idle"],
        "freshness_p50_s": project["freshness_p50_s"],
        "freshness_p95_s": project["freshness_p95_s"],
        "poll_p50_ms": project["poll_p50_ms"],
        "poll_p95_ms": project["poll_p95_ms"],
        "naive_freshness_p95_s": naive["freshness_p95_s"],
        "naive_poll_p50_ms": naive["poll_p50_ms"],
        "naive_seconds": naive["seconds"],
        "errors": project["errors"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
