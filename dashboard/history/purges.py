"""The metadata key purge audit: rows from the archive, filters, and the CSV export."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import QuerySet

from dashboard.csvsafe import csv_stream
from dashboard.voucherify import catalog
from dashboard.voucherify.dates import parse_user_day

from .models import ArchivedAction

OBJECT_PARAM, FROM_PARAM, TO_PARAM = "object", "from", "to"
OBJECT_TYPES_BY_TYPE = catalog.PURGE_OBJECT_TYPES
OBJECT_TYPES = tuple(OBJECT_TYPES_BY_TYPE.values())
_UPDATED = re.compile(r"\bupdated\s+(\d[\d,]*)", re.IGNORECASE)
CSV_HEADERS = ("id", "object_type", "created_at", "user", "status", "records_updated",
               "duration_ms", "request_id", "log_id")


@dataclass(frozen=True)
class PurgeFilter:
    object_type: str | None = None
    start: date | None = None
    end: date | None = None  # inclusive
    errors: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def params(self) -> dict[str, str]:
        values = {
            OBJECT_PARAM: self.object_type,
            FROM_PARAM: self.start.isoformat() if self.start else None,
            TO_PARAM: self.end.isoformat() if self.end else None,
        }
        return {name: value for name, value in values.items() if value}

    def query(self) -> str:
        params = self.params()
        return "?" + urlencode(params) if params else ""


@dataclass(frozen=True)
class PurgeRow:
    id: str
    type: str
    object_type: str
    created_at: datetime
    user: str | None  # who started it, when the detail said so
    status: str
    records_updated: int | None
    duration_ms: int | None
    request_id: str
    log_id: str
    has_detail: bool


def parse_filter(query: Mapping[str, str]) -> PurgeFilter:
    """Lenient: each bad value becomes one sentence in `errors` and is left out."""
    errors: list[tuple[str, str]] = []
    object_type = (query.get(OBJECT_PARAM) or "").strip().lower() or None
    if object_type and object_type not in OBJECT_TYPES:
        errors.append((OBJECT_PARAM, f"There is no object type {object_type[:40]!r}; choose one "
                                     f"of {', '.join(OBJECT_TYPES)}."))
        object_type = None
    start = _day(query, FROM_PARAM, errors)
    end = _day(query, TO_PARAM, errors)
    if start and end and start > end:
        errors.append((TO_PARAM, "The end date is before the start date."))
        end = None
    return PurgeFilter(object_type, start, end, tuple(errors))


def _day(query: Mapping[str, str], name: str, errors: list) -> date | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_user_day(raw)
    except ValueError as exc:
        errors.append((name, str(exc)))
        return None


def purge_queryset(selected: PurgeFilter) -> QuerySet[ArchivedAction]:
    """Purges newest first, as the filter selects them (without `raw`: rows never need it)."""
    rows = ArchivedAction.objects.filter(context="METADATA_KEY_PURGE")
    if selected.object_type:
        types = [t for t, o in catalog.PURGE_OBJECT_TYPES.items() if o == selected.object_type]
        rows = rows.filter(type__in=types)
    if selected.start:
        rows = rows.filter(created_at__gte=_midnight(selected.start))
    if selected.end:
        rows = rows.filter(created_at__lt=_midnight(selected.end + timedelta(days=1)))
    return rows.order_by("-created_at", "-id").defer("raw")


def purge_rows(selected: PurgeFilter) -> Iterator[PurgeRow]:
    """Every selected purge, read in chunks (for the CSV)."""
    for row in purge_queryset(selected).iterator(chunk_size=500):
        yield to_row(row)


def to_row(row: ArchivedAction) -> PurgeRow:
    return PurgeRow(
        id=row.id,
        type=row.type,
        object_type=object_type_of(row.type),
        created_at=row.created_at,
        user=user_text(row.user),
        status=row.status,
        records_updated=records_updated(row.result),
        duration_ms=row.duration_ms,
        request_id=row.request_id,
        log_id=row.log_id,
        has_detail=row.has_detail,
    )


def object_type_of(action_type: str) -> str:
    return catalog.PURGE_OBJECT_TYPES.get(action_type) or catalog.prefix_of(action_type).lower()


def records_updated(result: object) -> int | None:
    """`done_count`, else the number in a message such as "Updated 42 customers."."""
    if isinstance(result, Mapping):
        done = result.get("done_count")
        if isinstance(done, int) and not isinstance(done, bool):
            return done
        result = result.get("message")
    if isinstance(result, str):
        match = _UPDATED.search(result)
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def user_text(user: object) -> str | None:
    """Who, as Voucherify described them: email, name or id; None when unknown."""
    if isinstance(user, Mapping):
        for name in ("email", "name", "username", "id"):
            if user.get(name):
                return str(user[name])
        return None
    return str(user) if user not in (None, "", {}) else None


def csv_lines(rows: Iterable[PurgeRow]) -> Iterator[str]:
    return csv_stream(CSV_HEADERS, (
        (row.id, row.object_type, row.created_at.astimezone(UTC).isoformat(), row.user,
         row.status, row.records_updated, row.duration_ms, row.request_id, row.log_id)
        for row in rows
    ))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
