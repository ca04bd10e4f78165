"""The overview's numbers: actions per day by status, failure share and p50/p95 per type.

Plain numbers from the archive (and one shared read of the newest page for what runs now);
svg.py draws them, the template also shows them as tables.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from dashboard.polling import reads
from dashboard.voucherify import catalog
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

from .models import DayCount, SyncState, WindowDuration
from .query import coverage
from .rollups import WINDOW_DAYS, roll_window

SERIES = catalog.TERMINAL_STATUSES  # the archive holds terminal actions only
TOP = 5


@dataclass(frozen=True)
class DayBar:
    day: date
    counts: dict[str, int]
    with_failures: int = 0  # of counts[DONE]: DONE with failed rows (the list's filter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def series_counts(self) -> list[int]:
        """The counts in the order of SERIES, for the table beside the chart."""
        return [self.counts.get(status, 0) for status in SERIES]

    @property
    def series_pairs(self) -> list[tuple[str, int]]:
        """(status, count) in the order of SERIES, for links to the list they count."""
        return list(zip(SERIES, self.series_counts, strict=True))


@dataclass(frozen=True)
class TypeFigures:
    type: str
    total: int
    failed: int
    p50_ms: int | None
    p95_ms: int | None
    partly: int = 0  # "Done with failures": DONE, not failed, with failed rows

    @property
    def label(self) -> str:
        return catalog.label_of(self.type)

    @property
    def failing(self) -> int:
        """Failed and partly failed actions: what the failure share counts."""
        return self.failed + self.partly

    @property
    def failure_share(self) -> float:
        return self.failing / self.total if self.total else 0.0

    @property
    def failed_share(self) -> float:
        """Only the fully failed ones (the darker part of the failure bar)."""
        return self.failed / self.total if self.total else 0.0

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
    def with_failures(self) -> int:
        return sum(day.with_failures for day in self.days)

    @property
    def series(self) -> tuple[str, ...]:
        return SERIES

    @property
    def slowest(self) -> list[TypeFigures]:
        timed = [t for t in self.types if t.p95_ms is not None]
        return sorted(timed, key=lambda t: (-(t.p95_ms or 0), t.type))[:TOP]

    @property
    def most_failing(self) -> list[TypeFigures]:
        failing = [t for t in self.types if t.failing]
        return sorted(failing, key=lambda t: (-t.failure_share, -t.failing, t.type))[:TOP]

    @property
    def window_incomplete(self) -> bool:
        """The archive does not reach back to the window's first day."""
        state = self.coverage
        if state is None:
            return True
        if state.bottom_reached:
            return False
        return state.covered_from is None or state.covered_from.date() >= self.start


def percentile(values: Iterable[int], fraction: float) -> int | None:
    """Nearest-rank percentile (p50 of 1..4 is 2, p95 of 1..20 is 19); None for no values."""
    return counted_percentile(Counter(values).items(), fraction)


def counted_percentile(counts: Iterable[tuple[int, int]], fraction: float) -> int | None:
    """Nearest-rank percentile of (value, how many times) pairs, such as a histogram."""
    ordered = sorted((value, n) for value, n in counts if n > 0)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value, n in ordered:
        seen += n
        if seen >= rank:
            return value
    return ordered[-1][0]


def day_bars(counts: Iterable[tuple[date, str, int]], end: date,
             days: int = WINDOW_DAYS,
             with_failures: Iterable[tuple[date, int]] = ()) -> list[DayBar]:
    """Counts per UTC day and status for the `days` days ending with `end`, oldest first,
    from (day, status, count) rows; `with_failures`: (day, count) of DONE with failed rows."""
    start = end - timedelta(days=days - 1)
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for day, status, n in counts:
        if start <= day <= end:
            per_day[day][status] += n
    partly: Counter[date] = Counter()
    for day, n in with_failures:
        partly[day] += n
    dates = [start + timedelta(days=n) for n in range(days)]
    return [DayBar(day, {s: per_day[day][s] for s in SERIES}, partly[day]) for day in dates]


def type_figures(counts: Iterable[tuple[str, bool, int]],
                 durations: Iterable[tuple[str, int, int]],
                 partly: Iterable[tuple[str, int]] = ()) -> list[TypeFigures]:
    """Per type, by type name, from (type, failed, count) and (type, bucket_ms, count) rows;
    `partly`: (type, count) of actions done with failures (not failed, failed rows known)."""
    totals: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    partly_failed: Counter[str] = Counter()
    histograms: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for action_type, n in partly:
        partly_failed[action_type] += n
    for action_type, is_failed, n in counts:
        totals[action_type] += n
        if is_failed:
            failed[action_type] += n
    for action_type, bucket, n in durations:
        histograms[action_type].append((bucket, n))
    return [
        TypeFigures(
            type=action_type,
            total=totals[action_type],
            failed=failed[action_type],
            p50_ms=counted_percentile(histograms[action_type], 0.50),
            p95_ms=counted_percentile(histograms[action_type], 0.95),
            partly=partly_failed[action_type],
        )
        for action_type in sorted(totals)
        if totals[action_type]
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
    """From the rollups (rollups.py): a few thousand small rows, whatever the archive's
    size."""
    today = (now or timezone.now()).astimezone(UTC).date()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    window = {"day__gte": start, "day__lte": today}
    day_rows = list(
        DayCount.objects.filter(**window).order_by()
        .values_list("day", "type", "status", "failed", "with_failed_rows", "count")
    )
    roll_window(today)
    durations = WindowDuration.objects.order_by().values_list("type", "bucket_ms", "count")
    # The list's "Done with failures": DONE with failed rows known, whatever operation_status
    done_with_rows = [r for r in day_rows if r[2] == catalog.DONE and r[4]]
    return Overview(
        start=start,
        end=today,
        days=day_bars(((r[0], r[2], r[5]) for r in day_rows), today,
                      with_failures=((r[0], r[5]) for r in done_with_rows)),
        types=type_figures(((r[1], r[3], r[5]) for r in day_rows), durations,
                           partly=((r[1], r[5]) for r in done_with_rows if not r[3])),
        live=live if live is not None else live_now(),
        coverage=coverage(),
    )
