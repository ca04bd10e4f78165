"""Per-day rollups of the archive, so that the overview reads a few thousand small rows
instead of every action of the last 30 days.

Every write to ArchivedAction that adds, changes or removes a row passes its old and new
figures here as deltas, in the same transaction; `rebuild` recounts from the archive itself
(the data migration, and the tests' proof that the deltas are right).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from .models import ArchivedAction, DayCount, DurationCount

# The columns a row's rollup contribution is made of (values() of ArchivedAction).
FIGURES = ("created_at", "type", "status", "operation_status", "duration_ms")


def bucket_of(duration_ms: int) -> int:
    """The duration rounded down to two significant digits (1234 -> 1200, 87 -> 87): at most
    one part in ten off, and a few hundred buckets per type cover milliseconds to days."""
    if duration_ms < 100:
        return max(0, duration_ms)
    scale = 10 ** (len(str(duration_ms)) - 2)
    return duration_ms // scale * scale


def is_failure(status: str, operation_status: str | None) -> bool:
    return status == "FAILED" or operation_status == "FAILED"


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class Deltas:
    """Counts to add (or, with sign -1, take away) for a batch of archive rows."""

    def __init__(self) -> None:
        self.days: Counter[tuple[date, str, str, bool]] = Counter()
        self.durations: Counter[tuple[date, str, int]] = Counter()

    def add(self, row: Mapping[str, object], sign: int = 1) -> None:
        day = day_of(row["created_at"])  # type: ignore[arg-type]
        action_type = str(row["type"])
        status = str(row["status"])
        failed = is_failure(status, row.get("operation_status"))  # type: ignore[arg-type]
        self.days[(day, action_type, status, failed)] += sign
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
        days = [(d, t, s, f, n) for (d, t, s, f), n in self.days.items() if n]
        durations = [(d, t, b, n) for (d, t, b), n in self.durations.items() if n]
        with transaction.atomic():
            _upsert(DayCount, ("day", "type", "status", "failed"), days)
            _upsert(DurationCount, ("day", "type", "bucket_ms"), durations)
            if any(n < 0 for *_, n in days):
                DayCount.objects.filter(count__lte=0, day__in={r[0] for r in days}).delete()
            if any(n < 0 for *_, n in durations):
                DurationCount.objects.filter(
                    count__lte=0, day__in={r[0] for r in durations}).delete()


def _upsert(model: type, key: tuple[str, ...], rows: list[tuple]) -> None:
    # Django's bulk_create(update_conflicts=True) can only overwrite a count, not add to it;
    # ON CONFLICT ... DO UPDATE reads the same on SQLite and PostgreSQL.
    quote = connection.ops.quote_name
    table, count = quote(model._meta.db_table), quote("count")
    columns = ", ".join(quote(c) for c in (*key, "count"))
    row_marks = "(" + ", ".join(["%s"] * (len(key) + 1)) + ")"
    conflict = ", ".join(quote(c) for c in key)
    add = f"{count} = {table}.{count} + excluded.{count}"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):  # within every backend's parameter limit
            chunk = rows[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_marks] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {add}",
                [value for row in chunk for value in row],
            )


def rebuild(archive: type = ArchivedAction, day_count: type = DayCount,
            duration_count: type = DurationCount) -> None:
    """Recount both rollups from the archive (grouped in the database, bucketed here);
    the models are parameters for the data migration's historical ones."""
    days: Counter[tuple[date, str, str, bool]] = Counter()
    durations: Counter[tuple[date, str, int]] = Counter()
    grouped = (
        archive.objects.order_by()
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("day", "type", "status", "operation_status", "duration_ms")
        .annotate(n=Count("id"))
    )
    for day, action_type, status, operation_status, duration, n in grouped.iterator():
        days[(day, action_type, status, is_failure(status, operation_status))] += n
        if duration is not None:
            durations[(day, action_type, bucket_of(duration))] += n
    with transaction.atomic():
        day_count.objects.all().delete()
        duration_count.objects.all().delete()
        day_count.objects.bulk_create(
            (day_count(day=d, type=t, status=s, failed=f, count=n)
             for (d, t, s, f), n in days.items()), batch_size=2000)
        duration_count.objects.bulk_create(
            (duration_count(day=d, type=t, bucket_ms=b, count=n)
             for (d, t, b), n in durations.items()), batch_size=2000)
