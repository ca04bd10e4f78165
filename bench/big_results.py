"""Benchmark of a big result: one finished action with N failed rows (100,000 by default).

Starts the emulator, Redis and the dashboard under gunicorn with 2 workers (bench/polling_stack),
inserts the action through the emulator's control API, then as the support role times the
first read of the detail page (the summary and the "Loading the failed rows" panel; split into
the upstream's part, timed by reading the same detail straight from the emulator afterwards,
and the dashboard's own), the time until the rows are shown (the failures section polled as
htmx polls it, every ROWS_POLL_PAUSE seconds here, until its 286 answer with the table), later
reads of the page, its poll, a reason filter, a search and the last failures page, streams
the whole CSV, and reports the growth of each gunicorn worker's resident memory (VmRSS from
/proc) and the CPU time the workers spent (which the load of a shared machine does not
inflate). The last line printed is one JSON object. See README.md ("Big results").

    .venv/bin/python bench/big_results.py [--rows 100000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.polling_stack import APP_ID, APP_TOKEN, Stack  # noqa: E402
from dashboard.emulator.control import EmulatorControl  # noqa: E402

REASONS = ("Duplicated voucher code", "unit: must be a number", "Voucher Type is required")
ROWS_POLL_PAUSE = 0.25  # finer than the browser's interval, to time the store, not the poll


def big_result(rows: int) -> dict:
    """Generated rows: three common reasons and one in ten naming its own customer."""
    failed = []
    for n in range(rows):
        reason = (f"Customer cust-{n:06d}@example.com not found" if n % 10 == 9
                  else REASONS[n % 3])
        failed.append({"code": f"CODE-{n:06d}", "source_id": f"src-{n}", "row": n + 1,
                       "reason": reason})
    return {"message": f"0 imported, {rows} failed.", "done_count": 0, "failed_count": rows,
            "failed": failed}


def worker_memory_kb(master_pid: int) -> dict[int, tuple[int, int]]:
    """Resident memory and its peak so far (kB) of each child of the gunicorn master."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master_pid) and "VmRSS" in fields:
            found[int(status.parent.name)] = (int(fields["VmRSS"].split()[0]),
                                              int(fields["VmHWM"].split()[0]))
    return found


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) the gunicorn workers have used: on a shared machine, what a
    request costs even when the wall clock waits for other processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker_memory_kb(master_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Browser:
    def __init__(self, base: str, cookie: str) -> None:
        self.base, self.cookie = base, cookie

    def get(self, path: str, *, htmx: bool = False) -> tuple[float, bytes]:
        seconds, _, body = self.answer(path, htmx=htmx)
        return seconds, body

    def answer(self, path: str, *, htmx: bool = False, trigger: str = ""
               ) -> tuple[float, int, bytes]:
        """(seconds, status, body); `trigger`: the id of the element htmx says polled."""
        headers = {"Cookie": self.cookie}
        if htmx:
            headers["HX-Request"] = "true"
        if trigger:
            headers["HX-Trigger"] = trigger
        request = urllib.request.Request(self.base + path, headers=headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                body, status = response.read(), response.status
        except urllib.error.HTTPError as exc:  # a 286 ends polling: a success here
            body, status = exc.read(), exc.code
            if exc.code != 286:
                raise
        return time.perf_counter() - started, status, body

    def until_rows_shown(self, page: str) -> int:
        """Poll the failures section as the loading panel does until the table ends the
        polling; how many polls it took."""
        polls = 0
        while True:
            polls += 1
            _, status, body = self.answer(f"{page}failures/", htmx=True, trigger="failures")
            if status == 286:
                if b"failure-table" not in body:
                    raise SystemExit("The poll ended without the table.")
                return polls
            time.sleep(ROWS_POLL_PAUSE)

    def stream_csv(self, path: str) -> tuple[float, int]:
        request = urllib.request.Request(self.base + path, headers={"Cookie": self.cookie})
        started, lines = time.perf_counter(), 0
        with urllib.request.urlopen(request, timeout=600) as response:
            for _ in response:
                lines += 1
        return time.perf_counter() - started, lines - 1  # without the header


def timed(browser: Browser, path: str, repeat: int, *, htmx: bool = False,
          master_pid: int) -> dict:
    cpu = workers_cpu_seconds(master_pid)
    times = [browser.get(path, htmx=htmx)[0] for _ in range(repeat)]
    cpu = workers_cpu_seconds(master_pid) - cpu
    return {"median_ms": round(1000 * statistics.median(times), 1),
            "max_ms": round(1000 * max(times), 1),
            "worker_cpu_ms_each": round(1000 * cpu / repeat, 1)}


def upstream_seconds(emulator_url: str, action_id: str) -> float:
    """How long the emulator takes to answer the detail (build, serialise and send its body):
    the upstream's part of a first read, not the dashboard's."""
    request = urllib.request.Request(f"{emulator_url}/v1/async-actions/{action_id}",
                                     headers={"X-App-Id": APP_ID, "X-App-Token": APP_TOKEN})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()
    return time.perf_counter() - started


def ten_viewers(browser: Browser, page: str, reason: str, repeat: int) -> dict:
    """Ten viewers at once, each loading the page, polling it and filtering its rows."""
    paths = [(page, False), (page + "?seen=DONE", True),
             (f"{page}failures/?reason={reason}&rows_page=7", True)]

    def viewer(_: int) -> list[float]:
        return [browser.get(path, htmx=htmx)[0] for _ in range(repeat) for path, htmx in paths]

    with ThreadPoolExecutor(10) as pool:
        times = [moment for times in pool.map(viewer, range(10)) for moment in times]
    return {"requests": len(times), "median_ms": round(1000 * statistics.median(times), 1),
            "max_ms": round(1000 * max(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-big-") as workdir:
        stack = Stack(Path(workdir), interval=2.0)
        try:
            stack.start()
            figures = run(stack, args)
        finally:
            stack.close()
    print(json.dumps(figures))


def run(stack: Stack, args: argparse.Namespace) -> dict:
    control = EmulatorControl(stack.emulator_url, timeout=120)
    control.reset(live_every=0, rate_limit=100)
    stack.start_dashboard("economy")
    browser = Browser(stack.dashboard_url, stack.login())
    action_id = control.create_action("VOUCHERS.IMPORT_CSV", duration=0,
                                      result=big_result(args.rows))["id"]
    browser.get("/status/")  # both workers imported and warm before the baseline
    before = worker_memory_kb(stack.dashboard.pid)
    page = f"/actions/{action_id}/"
    cpu = workers_cpu_seconds(stack.dashboard.pid)
    started = time.perf_counter()
    first, body = browser.get(page)
    first_cpu = workers_cpu_seconds(stack.dashboard.pid) - cpu
    if f"({args.rows})".encode() not in body:
        raise SystemExit("The first read did not show every failed row counted.")
    loading = b"rows-loading" in body
    polls = browser.until_rows_shown(page)
    shown = time.perf_counter() - started
    shown_cpu = workers_cpu_seconds(stack.dashboard.pid) - cpu
    upstream = upstream_seconds(stack.emulator_url, action_id)
    print(f"first page (summary{', rows loading' if loading else ''}): {1000 * first:.0f} ms "
          f"({1000 * first_cpu:.0f} ms of worker CPU); the emulator's answer alone takes "
          f"{1000 * upstream:.0f} ms, the dashboard's own part {1000 * (first - upstream):.0f} ms",
          flush=True)
    print(f"rows shown after {1000 * shown:.0f} ms ({polls} polls; "
          f"{1000 * shown_cpu:.0f} ms of worker CPU in all)", flush=True)
    reason = urllib.parse.quote(REASONS[1])
    master = stack.dashboard.pid
    figures = {
        "rows": args.rows,
        "first_page_ms": round(1000 * first),
        "first_page_showed_loading": loading,
        "first_page_worker_cpu_ms": round(1000 * first_cpu),
        "first_read_upstream_ms": round(1000 * upstream),
        "first_page_own_ms": round(1000 * (first - upstream)),
        "rows_shown_ms": round(1000 * shown),
        "rows_shown_polls": polls,
        "rows_shown_worker_cpu_ms": round(1000 * shown_cpu),
        "load_average": os.getloadavg()[0],
        "page": timed(browser, page, args.repeat, master_pid=master),
        "poll": timed(browser, page + "?seen=DONE", args.repeat, htmx=True, master_pid=master),
        "reason_filter": timed(browser, f"{page}failures/?reason={reason}", args.repeat,
                               htmx=True, master_pid=master),
        "search": timed(browser, f"{page}failures/?q=cust-04", args.repeat, htmx=True,
                        master_pid=master),
        "last_page": timed(browser, f"{page}failures/?rows_page=999999", args.repeat,
                           htmx=True, master_pid=master),
    }
    for name in ("page", "poll", "reason_filter", "search", "last_page"):
        print(f"{name}: {figures[name]}", flush=True)
    figures["ten_viewers"] = ten_viewers(browser, page, reason, args.repeat)
    print(f"ten viewers at once: {figures['ten_viewers']}", flush=True)
    seconds, lines = browser.stream_csv(f"{page}failures.csv")
    if lines != args.rows:
        raise SystemExit(f"The CSV held {lines} rows, not {args.rows}.")
    figures["csv"] = {"rows": lines, "seconds": round(seconds, 2),
                      "rows_per_second": round(lines / seconds)}
    print(f"csv: {figures['csv']}", flush=True)
    after = worker_memory_kb(stack.dashboard.pid)
    figures["worker_rss_mb"] = {
        str(pid): {"before": round(before.get(pid, (0, 0))[0] / 1024, 1),
                   "after": round(rss / 1024, 1),
                   "growth": round((rss - before.get(pid, (0, 0))[0]) / 1024, 1),
                   "peak": round(peak / 1024, 1)}
        for pid, (rss, peak) in after.items()
    }
    print(f"worker memory (MB): {figures['worker_rss_mb']}", flush=True)
    return figures


if __name__ == "__main__":
    main()
