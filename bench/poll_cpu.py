"""Server CPU of one poll, in-process, through the production settings' whole WSGI stack.

Starts what bench/polling.py starts (Redis, the emulator; no gunicorn) and calls Django's
WSGI handler directly in this process (no test client, no HTTP parsing) as a logged-in
viewer's browser would poll: a detail panel and the list's live rows, each unchanged (204)
and changed but already rendered for another viewer (the shared render). Then the same
polls through dashboard/wsgi.py's application, which answers a poll Django just answered in
front of it (dashboard/quick_polls.py; `quick_*`). Prints the median thread CPU time
of each kind, and of a warm detail page load (the full page of a running action whose entry
the cache serves, as each viewer opens it when another action finishes). `--profile
[panel|live|page]` adds cProfile's top functions of the unchanged detail (default) or list
polls, or of the page loads. The last line is JSON.

    .venv/bin/python bench/poll_cpu.py [--polls 300] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.polling_stack import Stack  # noqa: E402
from bench.polling_viewers import LIVE_POLLER, PANEL, poll_path  # noqa: E402
from dashboard.emulator.control import EmulatorControl  # noqa: E402


class Browser:
    """One viewer's requests, handed straight to the WSGI application."""

    def __init__(self, application, cookie: str) -> None:
        self.application, self.cookie = application, cookie

    def get(self, path: str, *, htmx: bool) -> tuple[int, str]:
        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "HTTP_COOKIE": self.cookie, "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if htmx:
            environ["HTTP_HX_REQUEST"] = "true"
        answer: dict[str, str] = {}

        def start_response(status, headers, exc_info=None):
            answer["status"] = status

        body = b"".join(self.application(environ, start_response))
        return int(answer["status"].split()[0]), body.decode()


def cpu_per_poll(browser: Browser, path: str, polls: int, expect: int,
                 *, htmx: bool = True) -> tuple[float, int]:
    """The median thread CPU (ms) of polls of `path`, counting only answers `expect`ed."""
    times = []
    for _ in range(polls):
        started = time.thread_time()
        status, _ = browser.get(path, htmx=htmx)
        if status == expect:
            times.append((time.thread_time() - started) * 1000)
    return (round(statistics.median(times), 3) if times else None), len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--profile", nargs="?", const="panel", choices=("panel", "live", "page"),
                        help="cProfile the unchanged polls of the panel (default) or the list, "
                             "or the detail page loads")
    args = parser.parse_args()
    # The emulator's seeded history has finished rows whose results the list's poll would read
    # a few at a time first (always rendered meanwhile): measured here is the running rows' poll.
    os.environ.setdefault("ACTIONS_DETAILS_PER_POLL", "0")
    with tempfile.TemporaryDirectory(prefix="bench-poll-cpu-") as workdir:
        # A long interval: the running actions' entries stay fresh for the whole measurement.
        stack = Stack(Path(workdir), 60.0)
        try:
            stack.start()
            cookie = stack.sessions(1)[0]
            django_application = _application()
            figures = measure(stack, Browser(django_application, cookie), args)
            figures.update(measure_quick(Browser(_quick(django_application), cookie),
                                         figures.pop("paths"), args.polls))
        finally:
            stack.close()
    print(json.dumps(figures))


def _application():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _quick(django_application):
    from dashboard.quick_polls import QuickPolls

    return QuickPolls(django_application)


def measure_quick(browser: Browser, paths: dict[str, str], polls: int) -> dict:
    """The same polls answered in front of Django: Django answers one per POLL_MEMORY_SECONDS
    (the median is the quick answers')."""
    figures = {}
    for kind, path in paths.items():
        expect = 204 if kind.startswith("unchanged") else 200
        figures[f"quick_{kind}_poll_cpu_ms"], _ = cpu_per_poll(browser, path, polls, expect)
    return figures


def measure(stack: Stack, browser: Browser, args: argparse.Namespace) -> dict:
    control = EmulatorControl(stack.emulator_url)
    control.reset(live_every=0, rate_limit=100)
    for _ in range(10):
        action = control.create_action("VOUCHERS.IMPORT_CSV", duration=3600)
    status, page = browser.get(f"/actions/{action['id']}/", htmx=False)
    panel = PANEL.search(page)
    if status != 200 or panel is None:
        raise SystemExit(f"The detail page answered {status} without a polling panel.")
    panel_path = poll_path(panel.group(0))
    status, listing = browser.get("/actions/", htmx=False)
    poller = LIVE_POLLER.search(listing)
    if status != 200 or poller is None:
        raise SystemExit(f"The list page answered {status} without a live poller.")
    live_path = poll_path(poller.group(0))
    panel_path = _followed(browser, panel_path, PANEL)  # warm: the first polls render
    live_path = _followed(browser, live_path, LIVE_POLLER, 40)  # and the results it reads
    figures = {}
    profiler = cProfile.Profile() if args.profile else None
    for kind, path in (("panel", panel_path), ("live", live_path)):
        if profiler and args.profile == kind:
            profiler.enable()
        figures[f"unchanged_{kind}_poll_cpu_ms"], figures[f"unchanged_{kind}_polls"] = (
            cpu_per_poll(browser, path, args.polls, 204))
        if profiler:
            profiler.disable()
    # a viewer opening the running action's page (its entry fresh in the cache)
    if profiler and args.profile == "page":
        profiler.enable()
    figures["detail_page_cpu_ms"], figures["detail_pages"] = cpu_per_poll(
        browser, f"/actions/{action['id']}/", args.polls, 200, htmx=False)
    if profiler:
        profiler.disable()
    # another viewer's older version: the shared render
    changed_panel, changed_live = _without_version(panel_path), _without_version(live_path)
    figures["shared_render_panel_poll_cpu_ms"], _ = cpu_per_poll(
        browser, changed_panel, args.polls, 200)
    figures["shared_render_live_poll_cpu_ms"], _ = cpu_per_poll(
        browser, changed_live, args.polls, 200)
    figures["paths"] = {"unchanged_panel": panel_path, "unchanged_live": live_path,
                        "shared_render_panel": changed_panel, "shared_render_live": changed_live}
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    return figures


def _followed(browser: Browser, path: str, element, polls: int = 3) -> str:
    """The element's address after a few polls, as htmx would follow its swaps; the list's
    poll also reads the finished rows' results (`details`) meanwhile, a few per poll."""
    for number in range(polls):
        if number >= 3 and "details=" not in path:
            break
        status, body = browser.get(path, htmx=True)
        found = element.search(body) if status == 200 else None
        path = (poll_path(found.group(0)) or path) if found else path
    return path


def _without_version(path: str) -> str:
    route, _, query = path.partition("?")
    kept = [part for part in query.split("&") if not part.startswith("v=")]
    return route + "?" + "&".join([*kept, "v=0000"])


if __name__ == "__main__":
    main()
