"""Pages of the purge audit by keyset: each page reads its rows by index, never by OFFSET.

Links carry the edge row's (created_at, id) as `older=`/`newer=` and the page number for
display. A bare `?page=N` (typed, or an old link) is answered from the nearer end: the first
and the last page read no skipped rows at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet

from dashboard.voucherify.dates import parse_timestamp

from .models import ArchivedAction

OLDER_PARAM, NEWER_PARAM, PAGE_PARAM = "older", "newer", "page"
_SEPARATOR = "~"


@dataclass(frozen=True)
class PurgePage:
    rows: list[tuple]  # values of the asked fields, newest first
    number: int
    num_pages: int
    total: int
    without_detail: int
    older: str | None  # the cursor of the next (older) page, None on the last one
    newer: str | None  # the cursor of the previous (newer) page, None on the first one

    def link(self, base: Mapping[str, str], direction: str) -> str | None:
        cursor = self.older if direction == OLDER_PARAM else self.newer
        if cursor is None:
            return None
        number = self.number + (1 if direction == OLDER_PARAM else -1)
        return "?" + urlencode({**base, direction: cursor, PAGE_PARAM: number})

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1


def cursor_of(created_at: datetime, action_id: str) -> str:
    return f"{created_at.isoformat()}{_SEPARATOR}{action_id}"


def parse_cursor(raw: str | None) -> tuple[datetime, str] | None:
    """Lenient: anything that is not a cursor this module wrote is no cursor."""
    if not raw or _SEPARATOR not in raw or len(raw) > 200:
        return None
    stamp, _, action_id = raw.partition(_SEPARATOR)
    moment = parse_timestamp(stamp)
    return (moment, action_id) if moment is not None and action_id else None


def _page_number(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 and int(text) > 0 else None


def purge_page(selection: QuerySet[ArchivedAction], query: Mapping[str, str], per_page: int,
               fields: tuple[str, ...]) -> PurgePage:
    """One page of `selection` (ordered newest first) as `query` asks for it."""
    # created_at is never null and, unlike the id, sits in the purge indexes: the counts read
    # the index alone (context, has_detail, created_at), never the table.
    counts = selection.order_by().aggregate(
        total=Count("created_at"),
        without_detail=Count("created_at", filter=Q(has_detail=False)),
    )
    total = counts["total"]
    num_pages = max(1, math.ceil(total / per_page))
    number = min(_page_number(query.get(PAGE_PARAM)) or 1, num_pages)
    values = selection.values_list(*fields)
    older, newer = parse_cursor(query.get(OLDER_PARAM)), parse_cursor(query.get(NEWER_PARAM))
    if older is not None or newer is not None:
        moment, action_id = older or newer
        if older is not None:
            found = list(values.filter(Q(created_at__lt=moment)
                                       | Q(created_at=moment, id__lt=action_id))[:per_page + 1])
            rows, has_older, has_newer = found[:per_page], len(found) > per_page, True
        else:
            found = list(values.filter(Q(created_at__gt=moment)
                                       | Q(created_at=moment, id__gt=action_id))
                         .order_by("created_at", "id")[:per_page + 1])
            rows, has_older, has_newer = found[:per_page][::-1], True, len(found) > per_page
        if not rows:  # a stale cursor: start again from the newest
            return purge_page(selection, {}, per_page, fields)
        number = number if has_newer else 1
    else:
        if number * 2 <= num_pages + 1:  # nearer the newest end
            start = (number - 1) * per_page
            rows = list(values[start:start + per_page])
        else:  # nearer the oldest end: read from there (the last page skips nothing)
            skip = max(0, total - number * per_page)
            size = min(number * per_page, total) - (number - 1) * per_page
            rows = list(values.order_by("created_at", "id")[skip:skip + size])[::-1]
        has_older, has_newer = number < num_pages, number > 1
    edge_first, edge_last = (rows[0], rows[-1]) if rows else (None, None)
    id_at, created_at = fields.index("id"), fields.index("created_at")
    return PurgePage(
        rows=rows, number=number, num_pages=num_pages, total=total,
        without_detail=counts["without_detail"],
        older=cursor_of(edge_last[created_at], edge_last[id_at])
        if edge_last is not None and has_older else None,
        newer=cursor_of(edge_first[created_at], edge_first[id_at])
        if edge_first is not None and has_newer else None,
    )
