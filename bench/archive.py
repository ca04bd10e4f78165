"""Benchmark of the archive at scale: fill it with N realistic actions, time what reads it.

The actions are copies of 5,000 made by the emulator's own generator (every documented type,
about 10% FAILED, about 2% metadata key purges, one import in a thousand with hundreds of
failed rows), each template through the project's own archive.row_fields once; every copy gets
its own id, request id and creation time. FAILED actions and purges are stored at detail level
(as sync_actions leaves them), the rest as list items. Rows go in by COPY (PostgreSQL) or one
executemany per batch (SQLite), rollups.Deltas for the per-day counts in the same transaction.
Then, with a logged-in auditor and Django's test client: /overview/, the first, the last and
a filtered /audit/purges/ page, the purge CSV (median of five exports);
the archive-served list (query.archived_matches, a filtered page deep in history); and one
sync_actions run against the emulator (catch-up over its 320 actions plus their details, then
an idle run), counting only the time spent inside database calls. Last line: one JSON object.

    .venv/bin/python bench/archive.py --actions 100000 [--postgres | --database-url URL]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.database import add_database_options, run_on_database  # noqa: E402

DAY_MS = 86_400_000
PURGE_SHARE = 0.02
FAILED_SHARE = 0.10
BIG_SHARE = 0.001
REPEATS = 5
CSV_REPEATS = 5  # the CSV's figures: the median export


def setup_django(database_url: str | None, workdir: Path, *, migrate: bool = True,
                 sqlite_file: Path | None = None) -> None:
    os.environ["DJANGO_DEBUG"] = "1"  # no secret key needed; DEBUG is switched off below
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    os.environ.pop("REDIS_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["DJANGO_SQLITE_PATH"] = str(sqlite_file or workdir / "archive-bench.sqlite3")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log: it would hold a million INSERTs
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # --workers fill processes take turns at SQLite's one writer lock
        settings.DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 300
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def fill_part(database_url: str | None, workdir: str, count: int, days: int, seed: int,
              batch: int) -> float:
    """One --workers process: its own share of the actions, into the same database."""
    setup_django(database_url, Path(workdir), migrate=False)
    return fill(count, days, seed, batch)


def generated(count: int, days: int, seed: int) -> Iterator[tuple[dict, bool]]:
    """(upstream object, is detail level) for `count` terminal actions over `days` days."""
    from dashboard.emulator import seed as emulator_seed
    from dashboard.emulator.results import IMPORT_ROWS, KNOWN_TYPES, PURGE_TYPES

    rng = random.Random(seed)
    others = [t for t in KNOWN_TYPES if t not in PURGE_TYPES]
    imports = [t for t in IMPORT_ROWS if t in others]
    now_ms = int(time.time() * 1000)
    for _ in range(count):
        if rng.random() < PURGE_SHARE:
            action_type = rng.choice(PURGE_TYPES)
        else:
            action_type = rng.choice(others)
        big = action_type in imports and rng.random() < BIG_SHARE * len(others) / len(imports)
        outcome = "FAILED" if rng.random() < FAILED_SHARE and not big else "DONE"
        duration = (rng.randrange(100, 8_000) if rng.random() < 0.8
                    else rng.randrange(8_000, 600_000))
        created_ms = now_ms - rng.randrange(10 * 60_000, days * DAY_MS)
        sizes = None
        if big:
            sizes = {"total": rng.randrange(800, 5000), "failed_count": rng.randrange(150, 450),
                     "reasons": rng.choice((2, 3))}
        who = {}
        if action_type in PURGE_TYPES or rng.random() < 0.3:
            who = {"user": dict(rng.choice(emulator_seed.USERS)),
                   "log_id": f"log_{rng.getrandbits(64):016x}"}
        action = emulator_seed.new_action(rng, action_type, created_ms, duration, outcome,
                                          sizes=sizes, **who)
        detail = outcome == "FAILED" or action_type in PURGE_TYPES or big
        yield action.render(now_ms, detail=detail), detail


TEMPLATES = 5000  # generated actions the fill copies; 0.1% big imports need thousands


@dataclass(frozen=True)
class Template:
    """One generated action as stored: the columns that stay the same in every copy, already
    in the database's form, and what a copy changes (id, times, request id inside `raw`)."""

    fixed: dict[str, object]
    raw: dict
    span: timedelta | None  # updated_at - created_at
    figures: dict  # the rollups' columns but created_at


def templates(count: int, days: int, seed: int) -> list[Template]:
    """Actions from the emulator's generator (the distribution of `generated`), through the
    project's own row_fields, each turned into a Template once."""
    from django.db import connection

    from dashboard.history.archive import row_fields
    from dashboard.history.models import ArchivedAction
    from dashboard.history.rollups import FIGURES
    from dashboard.voucherify.models import Action

    fields = {field.name: field for field in ArchivedAction._meta.concrete_fields}
    made = []
    for body, detail in generated(min(count, TEMPLATES), days, seed):
        row = row_fields(Action.from_json(body), detail)
        span = row["updated_at"] - row["created_at"] if row["updated_at"] else None
        fixed = {name: _db_value(fields[name], value, connection) for name, value in row.items()
                 if name not in PER_COPY}
        made.append(Template(fixed, row["raw"], span,
                             {name: row[name] for name in FIGURES if name != "created_at"}))
    return made


PER_COPY = ("created_at", "updated_at", "request_id", "raw")


def _db_value(field, value, connection) -> object:
    """A column value as the driver takes it (JSON as text: COPY and executemany alike)."""
    from django.db.models import JSONField

    if isinstance(field, JSONField):
        return None if value is None else json.dumps(value)
    return field.get_db_prep_save(value, connection)


def copies(count: int, days: int, seed: int, vendor: str
           ) -> Iterator[tuple[dict[str, object], dict]]:
    """(column values, rollup figures) of `count` actions: each a copy of a random template
    with its own id, request id and creation time within `days` days. Times are written as
    Django writes them (naive UTC text on SQLite), without its per-value machinery."""
    pool = templates(count, days, seed)
    offset = "+00:00" if vendor == "postgresql" else ""
    epoch = datetime(1970, 1, 1)
    rng = random.Random(seed + 1)
    now_ms = int(time.time() * 1000)
    low, high = 10 * 60_000, days * DAY_MS
    for _ in range(count):
        template = pool[rng.randrange(len(pool))]
        created = epoch + timedelta(milliseconds=now_ms - rng.randrange(low, high))
        action_id = f"aa_{rng.getrandbits(72):018x}"
        request_id = f"{template.raw.get('request_id', 'v-')[:2]}{rng.getrandbits(64):016x}"
        raw = {**template.raw, "id": action_id, "request_id": request_id,
               "created_at": created.isoformat(timespec="milliseconds") + "Z"}
        updated = None
        if template.span is not None:
            updated = created + template.span
            raw["updated_at"] = updated.isoformat(timespec="milliseconds") + "Z"
            updated = f"{updated}{offset}"
        values = {**template.fixed, "id": action_id, "created_at": f"{created}{offset}",
                  "updated_at": updated, "request_id": request_id, "raw": json.dumps(raw)}
        yield values, {**template.figures, "created_at": created.replace(tzinfo=UTC)}


def fill(count: int, days: int, seed: int, batch: int) -> float:
    """Bulk inserts, the way the database takes them fastest (COPY on PostgreSQL, one
    executemany per batch on SQLite), with the rollups' deltas in the same transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dashboard.history.models import ArchivedAction
    from dashboard.history.rollups import Deltas, roll_window

    roll_window(datetime.now(UTC).date())  # the window is then kept as batches arrive
    started = time.perf_counter()
    meta = ArchivedAction._meta
    now = timezone.now()
    stamps = {name: meta.get_field(name).get_db_prep_save(now, connection)
              for name in ("first_seen", "last_synced")}
    names = [field.name for field in meta.concrete_fields]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in meta.concrete_fields)
    rows: list[tuple] = []
    deltas = Deltas()

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(names))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            deltas.apply()
        rows.clear()
        deltas.days.clear()
        deltas.durations.clear()

    if connection.vendor == "sqlite":  # a throwaway file: no fsync, a big page cache
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -400000")
    for done, (values, figures) in enumerate(copies(count, days, seed, connection.vendor), 1):
        values.update(stamps)
        rows.append(tuple(values[name] for name in names))
        deltas.add(figures)
        if len(rows) >= batch:
            flush()
            if done % (batch * 10) == 0:
                print(f"  {done} actions stored, {time.perf_counter() - started:.0f} s",
                      flush=True)
    if rows:
        flush()
    if connection.vendor == "sqlite":  # what follows is measured as Django runs it
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA cache_size = -2000")
    return time.perf_counter() - started


def server_cpu() -> float:
    """CPU seconds so far of the PostgreSQL server process serving this connection (it runs
    on this machine: /proc), 0 on SQLite (in-process: this process's CPU holds its work)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_now() -> float:
    """CPU seconds of the whole read: this process and the database server's process. On a
    busy shared machine wall time mostly measures waiting for a core; this does not."""
    return time.process_time() + server_cpu()


def timed(read: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """(median wall milliseconds, mean CPU milliseconds) of `repeats` reads after a warm-up."""
    read()
    runs = []
    cpu_began = cpu_now()
    for _ in range(repeats):
        began = time.perf_counter()
        read()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs), (cpu_now() - cpu_began) * 1000 / repeats


def auditor_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.accounts.roles import ensure_role

    user, _ = get_user_model().objects.get_or_create(username="archive-bench-auditor")
    user.groups.add(ensure_role("auditor"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def get_ok(client, path: str) -> bytes:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


class DatabaseTime:
    """Seconds spent inside database calls and commits while used as a context manager
    (connection.execute_wrapper, and the connection's own _commit wrapped)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # this process's CPU inside database calls, plus the server's
        self.queries = 0
        self.commits = 0
        self.commit_seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        began, cpu_began = time.perf_counter(), time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.cpu_seconds += time.process_time() - cpu_began
            self.queries += 1

    def __enter__(self) -> DatabaseTime:
        commit = self.connection._commit

        def timed_commit():
            began, cpu_began = time.perf_counter(), time.process_time()
            try:
                return commit()
            finally:
                self.cpu_seconds += time.process_time() - cpu_began
                spent = time.perf_counter() - began
                self.seconds += spent
                self.commit_seconds += spent
                self.commits += 1

        self.connection._commit = timed_commit
        self._server_began = server_cpu()
        self._wrapper = self.connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wrapper.__exit__(*exc_info)
        del self.connection._commit  # back to the class's method
        self.cpu_seconds += server_cpu() - self._server_began


@contextmanager
def emulator() -> Iterator[None]:
    """A fresh emulator as the upstream (the sync reads it; the overview's "running now"
    reads its newest page once, then the polling layer's cache)."""
    from django.conf import settings

    from dashboard.emulator.server import EmulatorServer
    from dashboard.polling import reads as upstream
    from dashboard.voucherify.config import VoucherifyConfig

    server = EmulatorServer(host="127.0.0.1", port=0, app_id="bench", app_token="bench-token",
                            live_every=0).start()
    try:
        settings.VOUCHERIFY = VoucherifyConfig(base_url=server.url, app_id="bench",
                                               app_token="bench-token")
        settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
        settings.VOUCHERIFY_BUDGET_RESERVE = 0
        settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
        upstream._interval_memo = None
        yield
    finally:
        server.stop()


def sync_database_time() -> dict:
    """One sync_actions run whose upstream history (the emulator's 320 actions) is all new to
    the archive: 4 list pages and the details of its FAILED actions and purges; then one more
    run (nothing new): database seconds of each, and the first run's calls."""
    from django.db import connection

    from dashboard.history.models import SyncState
    from dashboard.history.sync import Sync
    from dashboard.polling import reads as upstream

    # Covered up to 61 days ago: the catch-up walks the emulator's 60-day history.
    SyncState.objects.update_or_create(pk=SyncState.SINGLETON, defaults={
        "covered_to": datetime.now(UTC) - timedelta(days=61), "covered_from": None,
        "bottom_reached": True, "resume_cursor": "", "gap_top": None, "gap_cursor": "",
        "read_to": None, "read_bottom": False, "runners": []})
    runs = []
    for _ in range(2):
        with DatabaseTime(connection) as clock:
            progress = Sync(upstream.get_client(), max_calls=1000).run()
        runs.append((clock, progress.calls))
    (first, calls), (idle, _) = runs
    return {"sync_db_s": round(first.seconds, 3), "sync_db_cpu_s": round(first.cpu_seconds, 3),
            "sync_calls": calls,
            "sync_queries": first.queries, "sync_commits": first.commits,
            "sync_commit_s": round(first.commit_seconds, 3),
            "sync_idle_db_s": round(idle.seconds, 3),
            "sync_idle_db_cpu_s": round(idle.cpu_seconds, 3)}


def forget_emulator_history() -> None:
    """A reused archive without the emulator's own actions, which the last run's sync stored:
    this run's sync catches up on them again, as a first run's does. (Deleted as rows only:
    the rollups keep counting them, which no figure here reads.)"""
    from dashboard.emulator.store import Store
    from dashboard.history.models import ArchivedAction

    ArchivedAction.objects.filter(pk__in=Store(live_every=0).ids()).delete()


def saturate_rollups(per_bucket: int) -> int:
    """Rollups as ten million actions in the last 30 days would leave them: every type, every
    duration bucket the generator can produce, every day, `per_bucket` actions each (on top
    of what the fill made; the archive itself is not touched). Returns the actions they
    stand for."""
    from dashboard.emulator.results import KNOWN_TYPES
    from dashboard.history.models import DayCount, DurationCount
    from dashboard.history.rollups import WINDOW_DAYS, bucket_of, roll_window

    today = datetime.now(UTC).date()
    buckets = sorted({bucket_of(ms) for ms in [*range(100, 8_000), *range(8_000, 600_000, 7)]})
    days = [today - timedelta(days=n) for n in range(WINDOW_DAYS)]
    DurationCount.objects.filter(day__in=days).delete()
    DayCount.objects.filter(day__in=days).delete()
    DurationCount.objects.bulk_create(
        (DurationCount(day=day, type=t, bucket_ms=b, count=per_bucket)
         for day in days for t in KNOWN_TYPES for b in buckets), batch_size=5000)
    DayCount.objects.bulk_create(
        (DayCount(day=day, type=t, status=status, failed=status == "FAILED",
                  count=per_bucket * len(buckets) // (10 if status == "FAILED" else 1))
         for day in days for t in KNOWN_TYPES for status in ("DONE", "FAILED")),
        batch_size=5000)
    roll_window(today - timedelta(days=WINDOW_DAYS + 5))  # far away: the next roll recounts
    roll_window(today)
    return per_bucket * len(buckets) * len(KNOWN_TYPES) * len(days)


def database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                           "WHERE c.relkind = 'r' AND c.relname LIKE 'history\\_%%'")
        else:
            cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), "
                           "pragma_page_size()")
        return int(cursor.fetchone()[0])


def measure(count: int) -> dict:
    from django.db import connection

    from dashboard.history import charts
    from dashboard.history.models import ArchivedAction, DayCount, DurationCount
    from dashboard.history.query import archived_matches
    from dashboard.voucherify.cursor import Cursor

    sync = sync_database_time()
    client = auditor_client()
    reads = {
        "overview": lambda: get_ok(client, "/overview/"),
        "overview_data": lambda: charts.overview(live=charts.LiveNow()),  # the rollups alone
        "purges_page": lambda: get_ok(client, "/audit/purges/"),
        "purges_last_page": lambda: get_ok(client, "/audit/purges/?page=999999"),
        "purges_filtered_page": lambda: get_ok(client, "/audit/purges/?object=customers"),
    }
    # A filtered page far down the history: FAILED customer actions older than the middle.
    ordered = ArchivedAction.objects.order_by("created_at").values_list("created_at", flat=True)
    middle = ordered[count // 2]
    reads["archive_list"] = lambda: archived_matches(
        context="CUSTOMERS", type=None, status="FAILED", before=Cursor(before=middle), limit=100)
    figures = {}
    for name, read in reads.items():
        wall, cpu = timed(read)
        figures[f"{name}_ms"], figures[f"{name}_cpu_ms"] = round(wall, 1), round(cpu, 1)
    get_ok(client, "/audit/purges.csv")  # warm-up
    csv_runs = []  # (seconds, CPU seconds) of each export
    for _ in range(CSV_REPEATS):
        began, cpu_began = time.perf_counter(), cpu_now()
        csv_rows = get_ok(client, "/audit/purges.csv").count(b"\n") - 1
        csv_runs.append((time.perf_counter() - began, cpu_now() - cpu_began))
    csv_seconds = statistics.median(run[0] for run in csv_runs)
    csv_cpu = statistics.median(run[1] for run in csv_runs)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # sizes without dead tuples of the rollups
    stored = ArchivedAction.objects.count()
    return {
        "actions": stored,
        **figures,
        "purges_csv_rows_per_s": round(csv_rows / csv_seconds) if csv_seconds else None,
        "purges_csv_rows_per_cpu_s": round(csv_rows / csv_cpu) if csv_cpu else None,
        "sync_db_s": sync.pop("sync_db_s"),
        "db_bytes": database_bytes(),
        # context for the figures above
        **sync,
        "purge_csv_rows": csv_rows,
        "rollup_rows": DayCount.objects.count() + DurationCount.objects.count(),
        "database": connection.vendor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=10_000)
    add_database_options(parser, "a new SQLite file in a temporary directory")
    parser.add_argument("--days", type=int, default=90, help="history spread over these days")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--saturate-rollups", type=int, default=0, metavar="N",
                        help="after the other figures, fill the rollups as if every type and "
                        "duration bucket had N actions a day for 30 days, and time the overview")
    parser.add_argument("--keep", type=Path, metavar="FILE",
                        help="SQLite only: the archive in this file, kept afterwards; a file "
                        "already holding --actions actions is measured without a new fill")
    parser.add_argument("--reuse", action="store_true",
                        help="with --database-url: a database already holding --actions "
                        "actions is measured without a new fill")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes generating and inserting in parallel (SQLite: they "
                        "take turns at its writer lock)")
    run_on_database(parser.parse_args(), run)


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as workdir:
        keep = args.keep.resolve() if args.keep and not args.database_url else None
        setup_django(args.database_url, Path(workdir), sqlite_file=keep)
        from dashboard.history.models import ArchivedAction, DayCount, DurationCount, SyncState

        reuse = ((keep is not None or (args.reuse and args.database_url))
                 and ArchivedAction.objects.count() >= args.actions)
        if not reuse:
            for model in (ArchivedAction, DayCount, DurationCount, SyncState):
                model.objects.all().delete()
        began = time.perf_counter()
        if reuse:
            print(f"measuring the {args.actions} actions already in {keep or 'the database'}",
                  flush=True)
            forget_emulator_history()
        elif args.workers > 1:
            from django.db import connections

            connections.close_all()
            share = args.actions // args.workers
            counts = [share] * (args.workers - 1) + [args.actions - share * (args.workers - 1)]
            with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
                pool.starmap(fill_part, [
                    (args.database_url, workdir, n, args.days, args.seed * 100 + k, args.batch)
                    for k, n in enumerate(counts)])
        else:
            fill(args.actions, args.days, args.seed, args.batch)
        if not reuse:
            print(f"filled {args.actions} actions in {time.perf_counter() - began:.1f} s "
                  f"({args.workers} process(es))", flush=True)
        with emulator():
            figures = measure(args.actions)
            if args.saturate_rollups:
                figures["saturated_actions_in_window"] = saturate_rollups(args.saturate_rollups)
                client = auditor_client()
                from dashboard.history import charts

                for name, read in (
                        ("saturated_overview", lambda: get_ok(client, "/overview/")),
                        ("saturated_overview_data",
                         lambda: charts.overview(live=charts.LiveNow()))):
                    wall, cpu = timed(read)
                    figures[f"{name}_ms"], figures[f"{name}_cpu_ms"] = round(wall, 1), round(cpu, 1)
            print(json.dumps(figures))


if __name__ == "__main__":
    main()
