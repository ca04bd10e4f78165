"""Page renders with a cold cache against the raw upstream GET each one needs.

Starts the emulator (its own process, so that its CPU is not counted here) and runs Django in
this process on a throwaway SQLite database and the in-memory cache, or as production keeps
them: PostgreSQL (`--postgres`, a private server, or `--database-url`) and Redis (`--redis`, a
private redis-server). Each repetition starts cold: the cache is cleared and the archive
emptied (the list page is also timed with the archive still holding its rows, as it usually
does: then it writes nothing). It times, median of `--repeat`:

- the upstream GET the page needs, made with the plain client (dashboard/voucherify):
  the list endpoint with limit=100, and the detail of an action with `--rows` failed rows;
- the dashboard's page for it, through Django's test client (its whole middleware stack):
  the list with 100 rows (`/actions/?limit=100`) and, as the support role (who sees the
  rows), that action's detail page: its first read (from `rows_later.LATER_FROM` failed rows
  on, the summary and a loading panel while the rows are stored in the background) and, with
  the rows stored and the cache cold, the page later viewers get (`detail_stored`);
- the same two pages cold but for the viewer (`list_viewer_known`, `detail_viewer_known`):
  their session and user in the cache, as after any earlier page of theirs, though not in
  this process's memory (hot.py keeps them a fraction of an interval). Nobody opens a page
  signed in with a session the cache has never seen but just after signing in; the data the
  page shows is what is cold;
- the floor: the cheapest answer a signed-in viewer can get, as cold (a live poll naming no
  action: the session, the user and the permission read, then a 400 of one line, no upstream
  call, nothing rendered). No page costs less; added to the list's GET it gives the least
  ratio any list page could reach in this stack (`floor_ratio`). Also the same answer warm,
  the session and the user cached (`floor_warm_wall_ms`).

Wall time and this thread's CPU time are both printed, and the page-to-upstream ratios
(the issue's goal: 1.5 at most), and each page's own time (its wall time less its GET's); for
one load of each page, its upstream calls, SQL queries and cache calls (with Redis, a round
trip each). `--upstream-latency-ms N` has the emulator wait N ms before each answer (its
latency fault), as a network between the dashboard and Voucherify would: the ratio against an
upstream slower than the emulator on localhost. `--profile` prints cProfile's top functions
of each page, by this thread's CPU time.
The last line is JSON.

    .venv/bin/python bench/render.py [--repeat 9] [--rows 5000] [--upstream-latency-ms 0]
                                     [--postgres | --database-url URL] [--redis] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_results import big_result  # noqa: E402
from bench.database import add_database_options, run_on_database  # noqa: E402
from bench.polling_stack import APP_ID, APP_TOKEN, PYTHON, ROOT, stop, wait_for  # noqa: E402
from dashboard.emulator.control import EmulatorControl  # noqa: E402
from dashboard.emulator.ports import free_port  # noqa: E402
from tests.helpers.cachecalls import cache_calls  # noqa: E402
from tests.helpers.services import RedisServer  # noqa: E402

LIST_LIMIT = 100
CALLS = 1_000_000  # per minute, at the emulator and in the dashboard's budget: never the limit


def environment(workdir: Path, emulator_url: str, database_url: str | None = None,
                redis_url: str = "") -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SQLITE_PATH": str(workdir / "render.sqlite3"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_LOG_LEVEL": "WARNING",
        # The in-memory cache unless --redis: then what production's cache costs too.
        "REDIS_URL": redis_url,
        "VOUCHERIFY_API_URL": emulator_url,
        "VOUCHERIFY_APP_ID": APP_ID,
        "VOUCHERIFY_APP_TOKEN": APP_TOKEN,
        "VOUCHERIFY_CALLS_PER_MINUTE": str(CALLS),
        "VOUCHERIFY_USER_SHARE": "1",
    }
    if database_url:  # as production runs (README: Database and cache)
        env["DATABASE_URL"] = database_url
    return env


def timed(work: Callable[[], object], repeat: int, before: Callable[[], None]) -> dict:
    """Median wall and thread CPU (ms) of `work`, each run after `before` (not timed)."""
    walls, cpus = [], []
    for _ in range(repeat):
        before()
        wall, cpu = time.perf_counter(), time.thread_time()
        work()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {"wall_ms": round(1000 * statistics.median(walls), 1),
            "cpu_ms": round(1000 * statistics.median(cpus), 1)}


def profiled(work: Callable[[], object], before: Callable[[], None], title: str) -> None:
    before()
    profiler = cProfile.Profile(time.thread_time)  # CPU time: what waiting on others hides
    profiler.runcall(work)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    if os.environ.get("BENCH_PROFILE_DIR"):  # for pstats or snakeviz
        profiler.dump_stats(Path(os.environ["BENCH_PROFILE_DIR"]) / f"{title.split()[0]}.prof")
    print(f"===== {title} =====\n{out.getvalue()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--upstream-latency-ms", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--redis", action="store_true",
                        help="the cache in a private redis-server, as production keeps it "
                             "(default: Django's in-memory cache)")
    add_database_options(parser, "a throwaway SQLite file, in RAM when /dev/shm is writable")
    run_on_database(parser.parse_args(), run)


def run(args: argparse.Namespace) -> None:
    with emulator_and_django(args.database_url, args.redis) as url:
        figures = measure(url, args)
        if args.redis:  # the last second's lookup counts (polling/stats.py) reach Redis first
            from dashboard.polling.stats import FLUSH_AFTER_SECONDS

            time.sleep(FLUSH_AFTER_SECONDS + 0.5)
    figures["database"] = "PostgreSQL" if args.database_url else "SQLite"
    figures["cache"] = "Redis" if args.redis else "local memory"
    print(json.dumps(figures))


@contextmanager
def emulator_and_django(database_url: str | None = None, redis: bool = False) -> Iterator[str]:
    """The emulator in its own process (and a private redis-server with `redis`), and this
    process's environment set for Django on `database_url`, else a throwaway SQLite database
    in RAM (when /dev/shm is writable); yields the emulator's address."""
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="bench-render-", dir=parent) as name, \
            ExitStack() as services:
        workdir = Path(name)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        redis_url = ""
        if redis:
            server = RedisServer(workdir).start()
            services.callback(server.stop)
            redis_url = server.url
        env = environment(workdir, url, database_url, redis_url)
        with open(workdir / "emulator.log", "ab") as log:
            emulator = subprocess.Popen(
                [PYTHON, "manage.py", "emulator", "--port", str(port), "--live-every", "0",
                 "--rate-limit", str(CALLS)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **env, "DASHBOARD_EMULATOR": "1"})
            try:
                wait_for(port, emulator, "The emulator")
                os.environ.update(env)
                yield url
            finally:
                stop(emulator)


def measure(emulator_url: str, args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.core.signals import request_finished
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dashboard import hot
    from dashboard.accounts.roles import SUPPORT, ensure_role
    from dashboard.history import after_response, rows_later
    from dashboard.history.models import ArchivedAction
    from dashboard.voucherify.client import VoucherifyClient
    from dashboard.voucherify.config import VoucherifyConfig

    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # the manifest pages link through
    control = EmulatorControl(emulator_url, timeout=120)
    control.reset(live_every=0, rate_limit=CALLS)
    if args.upstream_latency_ms:
        control.set_faults(latency_ms=args.upstream_latency_ms)
    action_id = control.create_action("VOUCHERS.IMPORT_CSV", duration=0,
                                      result=big_result(args.rows))["id"]
    user = get_user_model().objects.create_user("bench-support")
    user.groups.add(ensure_role(SUPPORT))
    browser = Client()
    browser.force_login(user)
    plain = VoucherifyClient(VoucherifyConfig(base_url=emulator_url, app_id=APP_ID,
                                              app_token=APP_TOKEN))
    list_path, detail_path = f"/actions/?limit={LIST_LIMIT}", f"/actions/{action_id}/"

    def cold_cache() -> None:
        after_response._run_pending()  # what the last page put off, done before the next
        cache.clear()
        hot.clear(memos=False)  # the per-process memory in front of the cache

    def cold() -> None:
        after_response._run_pending()
        rows_later.wait_all()  # a first read's rows stored in the background, not cut off
        cold_cache()
        ArchivedAction.objects.all().delete()  # its failed rows go with it (cascade)

    def stored() -> None:
        """The detail read once and its rows stored: the page every later viewer gets."""
        cold()
        page(detail_path)()
        after_response._run_pending()
        rows_later.wait_all()
        cold_cache()

    def viewer_known() -> None:
        """Cold but for the viewer: their session and user cached (a page of theirs read
        them), not in this process's memory."""
        cold()
        page("/actions/live/", 400)()
        hot.clear(memos=False)

    def page(path: str, status: int = 200) -> Callable[[], object]:
        def get() -> object:
            # Timed until the page has answered, as a viewer waits: what it puts off until then
            # (after_response.py: the archive's writes of a page read, a big result's rows)
            # runs before the next page (cold_cache), outside the timing.
            request_finished.disconnect(dispatch_uid=after_response.FINISHED_UID)
            try:
                response = browser.get(path)
            finally:
                after_response.connect()
            if response.status_code != status:
                raise SystemExit(f"{path} answered {response.status_code}.")
            return response
        return get

    # Once before counting: what a deployment writes once, not on every load (the session's
    # idle renewal, accounts/middleware.py; the rollups' window row).
    cold()
    page(list_path)()
    page(detail_path)()
    checks = {}
    for name, path, marker, before in (
            ("list", list_path, b"<tr ", cold), ("list_archived", list_path, b"<tr ", cold_cache),
            ("detail", detail_path, b"CODE-", cold),
            ("detail_stored", detail_path, b"CODE-", stored),
            ("list_viewer_known", list_path, b"<tr ", viewer_known),
            ("detail_viewer_known", detail_path, b"CODE-", viewer_known)):
        before()
        control.clear_stats()
        with CaptureQueriesContext(connection) as queries, cache_calls() as calls:
            body = page(path)().content
        checks[name] = {"upstream_calls": control.count(), "sql_queries": len(queries),
                        "cache_calls": len(calls),
                        "bytes": len(body), "markers": body.count(marker)}
    upstream_list = timed(lambda: plain.list_actions(limit=LIST_LIMIT), args.repeat, cold)
    upstream_detail = timed(lambda: plain.get_action(action_id), args.repeat, cold)
    list_page = timed(page(list_path), args.repeat, cold)
    page(list_path)()  # the rows archived: a cold cache over an archive that holds them
    list_archived = timed(page(list_path), args.repeat, cold_cache)
    detail_page = timed(page(detail_path), args.repeat, cold)
    detail_stored = timed(page(detail_path), args.repeat, stored)
    list_viewer_known = timed(page(list_path), args.repeat, viewer_known)
    detail_viewer_known = timed(page(detail_path), args.repeat, viewer_known)
    after_response._run_pending()  # the last first read's rows, stored now, not beside the floor
    rows_later.wait_all()
    floor = timed(page("/actions/live/", 400), args.repeat, cold_cache)
    floor_warm = timed(page("/actions/live/", 400), args.repeat, lambda: None)
    if args.profile:
        profiled(page(list_path), cold, "list page, cold")
        profiled(page(list_path), cold_cache, "archived list page, cold cache")
        profiled(page(detail_path), cold, "detail page, cold")
    cold()
    figures = {"repeat": args.repeat, "rows": args.rows,
               "upstream_latency_ms": args.upstream_latency_ms, "load": os.getloadavg()[0],
               "floor_wall_ms": floor["wall_ms"], "floor_cpu_ms": floor["cpu_ms"],
               "floor_warm_wall_ms": floor_warm["wall_ms"],
               "floor_ratio": round((upstream_list["wall_ms"] + floor["wall_ms"])
                                    / upstream_list["wall_ms"], 2)}
    print(f"floor               a signed-in 400, cold {floor['wall_ms']:7.1f} ms wall "
          f"{floor['cpu_ms']:7.1f} ms CPU | the list's GET plus it: ratio {figures['floor_ratio']}"
          f" | warm (session and user cached) {floor_warm['wall_ms']:.1f} ms")
    for name, upstream, rendered in (("list", upstream_list, list_page),
                                     ("list_archived", upstream_list, list_archived),
                                     ("detail", upstream_detail, detail_page),
                                     ("detail_stored", upstream_detail, detail_stored),
                                     ("list_viewer_known", upstream_list, list_viewer_known),
                                     ("detail_viewer_known", upstream_detail,
                                      detail_viewer_known)):
        ratio = round(rendered["wall_ms"] / upstream["wall_ms"], 2)
        cpu_ratio = round(rendered["cpu_ms"] / upstream["cpu_ms"], 2) if upstream["cpu_ms"] \
            else None
        # A page that makes no call (the detail with its rows stored) has no own time to tell.
        own = round(rendered["wall_ms"] - upstream["wall_ms"], 1) \
            if checks[name]["upstream_calls"] else None
        print(f"{name:19} upstream GET {upstream['wall_ms']:7.1f} ms wall {upstream['cpu_ms']:7.1f}"
              f" ms CPU | page {rendered['wall_ms']:7.1f} ms wall {rendered['cpu_ms']:7.1f} ms CPU"
              f" | ratio {ratio:.2f} (CPU {cpu_ratio}) | own {own} ms | {checks[name]}")
        figures.update({
            f"{name}_upstream_wall_ms": upstream["wall_ms"],
            f"{name}_upstream_cpu_ms": upstream["cpu_ms"],
            f"{name}_page_wall_ms": rendered["wall_ms"],
            f"{name}_page_cpu_ms": rendered["cpu_ms"],
            f"{name}_ratio": ratio,
            f"{name}_own_ms": own,
            f"{name}_cpu_ratio": cpu_ratio,
            f"{name}_upstream_calls": checks[name]["upstream_calls"],
            f"{name}_sql_queries": checks[name]["sql_queries"],
            f"{name}_cache_calls": checks[name]["cache_calls"],
        })
    return figures


if __name__ == "__main__":
    main()
