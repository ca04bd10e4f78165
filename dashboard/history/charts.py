"""The overview's numbers: actions per day by status, failure share and p50/p95 per type.

Plain numbers from the archive (and one shared read of the newest page for what runs now);
svg.py draws them, the template also shows them as tables.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from dashboard.polling import reads
from dashboard.voucherify import catalog
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

from .models import ArchivedAction, SyncState
from .query import coverage

WINDOW_DAYS = 30
SERIES = catalog.TERMINAL_STATUSES  # the archive holds terminal actions only
TOP = 5


@dataclass(frozen=True)
class DayBar:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def series_counts(self) -> list[int]:
        """The counts in the order of SERIES, for the table beside the chart."""
        return [self.counts.get(status, 0) for status in SERIES]


@dataclass(frozen=True)
class TypeFigures:
    type: str
    total: int
    failed: int
    p50_ms: int | None
    p95_ms: int | None
    partial: int = 0  # DONE, but with failed rows (known from the archived result)

    @property
    def label(self) -> str:
        return catalog.label_of(self.type)

    @property
    def failure_share(self) -> float:
        """Failed actions and those that finished with failed rows: neither fully worked."""
        return (self.failed + self.partial) / self.total if self.total else 0.0

    @property
    def failure_percent(self) -> str:
        return f"{self.failure_share * 100:.1f}"


@dataclass(frozen=True)
class LiveNow:
    actions: list[Action] = field(default_factory=list)
    fetched_at: datetime | None = None
    stale: bool = False
    problem: VoucherifyError | None = None

    @property
    def by_type(self) -> list[tuple[str, int]]:
        counts = Counter(action.type for action in self.actions)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Overview:
    start: date
    end: date
    days: list[DayBar]
    types: list[TypeFigures]
    live: LiveNow
    coverage: SyncState | None

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def series(self) -> tuple[str, ...]:
        return SERIES

    @property
    def slowest(self) -> list[TypeFigures]:
        timed = [t for t in self.types if t.p95_ms is not None]
        return sorted(timed, key=lambda t: (-(t.p95_ms or 0), t.type))[:TOP]

    @property
    def most_failing(self) -> list[TypeFigures]:
        failing = [t for t in self.types if t.failed or t.partial]
        return sorted(failing, key=lambda t: (-t.failure_share, -t.failed, t.type))[:TOP]

    @property
    def window_incomplete(self) -> bool:
        """The archive does not reach back to the window's first day."""
        state = self.coverage
        if state is None:
            return True
        if state.bottom_reached:
            return False
        return state.covered_from is None or state.covered_from.date() >= self.start


def percentile(values: Sequence[int], fraction: float) -> int | None:
    """Nearest-rank percentile (p50 of 1..4 is 2, p95 of 1..20 is 19); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def is_failure(status: str, operation_status: str) -> bool:
    return catalog.FAILED in (status, operation_status)


def day_bars(rows: Iterable[tuple[datetime, str]], end: date,
             days: int = WINDOW_DAYS) -> list[DayBar]:
    """Counts per UTC day and status for the `days` days ending with `end`, oldest first."""
    start = end - timedelta(days=days - 1)
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for created_at, status in rows:
        day = created_at.astimezone(UTC).date()
        if start <= day <= end:
            counts[day][status] += 1
    return [
        DayBar(start + timedelta(days=n), {s: counts[start + timedelta(days=n)][s] for s in SERIES})
        for n in range(days)
    ]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def type_figures(rows: Iterable[tuple]) -> list[TypeFigures]:
    """Per type from (type, status, operation_status, duration_ms[, failed rows]) rows, by
    type name; failed rows None or left out: not known."""
    totals: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    partial: Counter[str] = Counter()
    durations: dict[str, list[int]] = defaultdict(list)
    for action_type, status, operation_status, duration, *rest in rows:
        totals[action_type] += 1
        if is_failure(status, operation_status):
            failed[action_type] += 1
        elif rest and rest[0]:
            partial[action_type] += 1
        if duration is not None:
            durations[action_type].append(duration)
    return [
        TypeFigures(
            type=action_type,
            total=totals[action_type],
            failed=failed[action_type],
            p50_ms=percentile(durations[action_type], 0.50),
            p95_ms=percentile(durations[action_type], 0.95),
            partial=partial[action_type],
        )
        for action_type in sorted(totals)
    ]


def live_now() -> LiveNow:
    """Actions running now, from the polling layer's shared newest page (one read at most)."""
    try:
        fetched = reads.fetch_page(limit=100)
    except VoucherifyError as error:
        return LiveNow(problem=error)
    live = [action for action in fetched.value.actions if action.is_live]
    return LiveNow(live, fetched.fetched_at, fetched.stale, fetched.problem)


def overview(now: datetime | None = None, *, live: LiveNow | None = None) -> Overview:
    today = (now or timezone.now()).astimezone(UTC).date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    rows = list(
        ArchivedAction.objects.filter(created_at__gte=since).values_list(
            # Only the count out of each result: results can hold thousands of rows.
            "created_at", "type", "status", "operation_status", "duration_ms",
            "result__failed_count",
        )
    )
    return Overview(
        start=start,
        end=today,
        days=day_bars(((r[0], r[2]) for r in rows), today),
        types=type_figures((r[1], r[2], r[3], r[4], _count(r[5])) for r in rows),
        live=live if live is not None else live_now(),
        coverage=coverage(),
    )
