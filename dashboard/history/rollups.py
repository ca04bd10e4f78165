"""Per-day rollups of the archive, so that the overview reads a few thousand small rows
instead of every action of the last 30 days.

Every write to ArchivedAction that adds, changes or removes a row passes its old and new
figures here as deltas, in the same transaction; `rebuild` recounts from the archive itself
(the data migration, and the tests' proof that the deltas are right).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum, Value
from django.db.models.functions import TruncDate

from dashboard.voucherify import catalog

from . import many_rows
from .models import ArchivedAction, DayCount, DurationCount, RollupWindow, WindowDuration

# The columns a row's rollup contribution is made of (values() of ArchivedAction).
FIGURES = ("created_at", "type", "status", "operation_status", "duration_ms", "failed_rows")
WINDOW_DAYS = 30  # the overview's days, today included
DAY_KEY = ("day", "type", "status", "failed", "with_failed_rows")


def bucket_of(duration_ms: int) -> int:
    """The duration rounded down to two significant digits (1234 -> 1200, 87 -> 87): at most
    one part in ten off, and a few hundred buckets per type cover milliseconds to days."""
    if duration_ms < 100:
        return max(0, duration_ms)
    scale = 10 ** (len(str(duration_ms)) - 2)
    return duration_ms // scale * scale


def is_failure(status: str, operation_status: str | None) -> bool:
    return catalog.FAILED in (status, operation_status)


def has_failed_rows(failed_rows: object) -> bool:
    """Failed rows known from the detail (None: no detail yet, so none known)."""
    return bool(failed_rows) and int(failed_rows) > 0  # type: ignore[call-overload]


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class Deltas:
    """Counts to add (or, with sign -1, take away) for a batch of archive rows."""

    def __init__(self) -> None:
        self.days: Counter[tuple[date, str, str, bool, bool]] = Counter()
        self.durations: Counter[tuple[date, str, int]] = Counter()

    def add(self, row: Mapping[str, object], sign: int = 1) -> None:
        day = day_of(row["created_at"])  # type: ignore[arg-type]
        action_type = str(row["type"])
        status = str(row["status"])
        failed = is_failure(status, row.get("operation_status"))  # type: ignore[arg-type]
        with_rows = has_failed_rows(row.get("failed_rows"))
        self.days[(day, action_type, status, failed, with_rows)] += sign
        duration = row.get("duration_ms")
        if duration is not None:
            self.durations[(day, action_type, bucket_of(int(duration)))] += sign  # type: ignore[call-overload]

    def extend(self, rows: Iterable[Mapping[str, object]], sign: int = 1) -> Deltas:
        for row in rows:
            self.add(row, sign)
        return self

    def apply(self) -> None:
        """Add the deltas to the rollup tables (one upsert per table, race-free: the
        database adds to whatever count is there), then drop keys that reached zero."""
        days = [(*key, n) for key, n in self.days.items() if n]
        durations = [(d, t, b, n) for (d, t, b), n in self.durations.items() if n]
        if not days and not durations:
            return
        # In the caller's transaction when there is one (every archive write): a failure undoes
        # the whole write anyway, and a savepoint costs two round trips on PostgreSQL.
        with transaction.atomic(savepoint=False):
            start = _locked_window().start
            _upsert(DayCount, DAY_KEY, days)
            _upsert(DurationCount, ("day", "type", "bucket_ms"), durations)
            window: Counter[tuple[str, int]] = Counter()
            for day, action_type, bucket, n in durations:
                if start is not None and start <= day <= window_end(start):
                    window[(action_type, bucket)] += n
            _add_to_window(window)
            if any(n < 0 for *_, n in days):
                DayCount.objects.filter(count__lte=0, day__in={r[0] for r in days}).delete()
            if any(n < 0 for *_, n in durations):
                DurationCount.objects.filter(
                    count__lte=0, day__in={r[0] for r in durations}).delete()


def _locked_window() -> RollupWindow:
    window = RollupWindow.objects.select_for_update().filter(pk=RollupWindow.SINGLETON).first()
    if window is None:
        window, _ = RollupWindow.objects.get_or_create(pk=RollupWindow.SINGLETON)
        window = RollupWindow.objects.select_for_update().get(pk=RollupWindow.SINGLETON)
    return window


def _add_to_window(counts: Mapping[tuple[str, int], int]) -> None:
    rows = [(t, b, n) for (t, b), n in counts.items() if n]
    _upsert(WindowDuration, ("type", "bucket_ms"), rows)
    if any(n < 0 for *_, n in rows):
        WindowDuration.objects.filter(count__lte=0).delete()


def window_start(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS - 1)


def window_end(start: date) -> date:
    """The window's last day (its today): the day counts stop there, so the durations do too."""
    return start + timedelta(days=WINDOW_DAYS - 1)


def roll_window(today: date) -> None:
    """Move WindowDuration to the window ending `today`: once a day the days that left it are
    taken away and the day that entered it added (one day's rows each), a far jump or a clock
    going back recounts it."""
    start = window_start(today)
    current = RollupWindow.objects.filter(pk=RollupWindow.SINGLETON).values_list(
        "start", flat=True).first()
    if current == start:
        return
    with transaction.atomic():
        window = _locked_window()
        if window.start == start:
            return
        if window.start is None or start < window.start or start - window.start > timedelta(
                days=WINDOW_DAYS):
            WindowDuration.objects.all().delete()
            _add_to_window(_summed(DurationCount.objects.filter(day__gte=start, day__lte=today)))
        else:
            leaving = _summed(DurationCount.objects.filter(day__gte=window.start, day__lt=start))
            entering = _summed(DurationCount.objects.filter(
                day__gt=window_end(window.start), day__lte=today))
            moved = Counter(entering)
            moved.subtract(leaving)
            _add_to_window(moved)
        window.start = start
        window.save(update_fields=["start"])


def _summed(rows) -> dict[tuple[str, int], int]:
    grouped = rows.order_by().values_list("type", "bucket_ms").annotate(n=Sum("count"))
    return {(t, b): n for t, b, n in grouped}


def _upsert(model: type, key: tuple[str, ...], rows: list[tuple]) -> None:
    # Django's bulk_create(update_conflicts=True) can only overwrite a count, not add to it;
    # ON CONFLICT ... DO UPDATE reads the same on SQLite and PostgreSQL.
    quote = connection.ops.quote_name
    table, count = quote(model._meta.db_table), quote("count")
    fields = [model._meta.get_field(name) for name in (*key, "count")]
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(quote(c) for c in key)
    add = f"{count} = {table}.{count} + excluded.{count}"
    with connection.cursor() as cursor:
        for source, params in many_rows.sources(connection, model, fields, rows):
            cursor.execute(f"INSERT INTO {table} ({columns}) {source} "
                           f"ON CONFLICT ({conflict}) DO UPDATE SET {add}", params)


def rebuild(archive: type = ArchivedAction, day_count: type = DayCount,
            duration_count: type = DurationCount) -> None:
    """Recount the per-day rollups from the archive (grouped in the database, bucketed
    here), and let the next roll_window recount the window; the models are parameters for
    the data migrations' historical ones (0003's have no failed rows yet)."""
    outcome = any(f.name == "with_failed_rows" for f in day_count._meta.get_fields())
    days: Counter[tuple[date, str, str, bool, bool]] = Counter()
    durations: Counter[tuple[date, str, int]] = Counter()
    with_rows = (ExpressionWrapper(Q(failed_rows__gt=0), BooleanField()) if outcome
                 else Value(False))
    grouped = (
        archive.objects.order_by()
        .annotate(day=TruncDate("created_at", tzinfo=UTC), with_rows=with_rows)
        .values_list("day", "type", "status", "operation_status", "with_rows", "duration_ms")
        .annotate(n=Count("id"))
    )
    for day, action_type, status, operation_status, rows, duration, n in grouped.iterator():
        days[(day, action_type, status, is_failure(status, operation_status), bool(rows))] += n
        if duration is not None:
            durations[(day, action_type, bucket_of(duration))] += n
    with transaction.atomic():
        day_count.objects.all().delete()
        duration_count.objects.all().delete()
        day_count.objects.bulk_create(
            (day_count(day=d, type=t, status=s, failed=f, count=n,
                       **({"with_failed_rows": w} if outcome else {}))
             for (d, t, s, f, w), n in days.items()), batch_size=2000)
        duration_count.objects.bulk_create(
            (duration_count(day=d, type=t, bucket_ms=b, count=n)
             for (d, t, b), n in durations.items()), batch_size=2000)
        if day_count is DayCount:  # the historical models have no window yet: made on use
            RollupWindow.objects.filter(pk=RollupWindow.SINGLETON).update(start=None)
