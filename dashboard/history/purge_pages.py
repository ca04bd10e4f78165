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

from dashboard.voucherify.dates import parse_timestamp

from .purge_reads import COLUMNS, PurgeSelection

OLDER_PARAM, NEWER_PARAM, PAGE_PARAM = "older", "newer", "page"
_SEPARATOR = "~"
_ID, _CREATED_AT = COLUMNS.index("id"), COLUMNS.index("created_at")


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
    # ASCII digits only: "²" is a digit to str.isdigit() but no number to int()
    ok = text.isascii() and text.isdigit() and len(text) < 10
    return int(text) if ok and int(text) > 0 else None


def purge_page(selection: PurgeSelection, query: Mapping[str, str], per_page: int
               ) -> PurgePage:
    """One page of `selection` (newest first) as `query` asks for it; rows are
    purge_reads.COLUMNS values."""
    total, without_detail = selection.counts()
    num_pages = max(1, math.ceil(total / per_page))
    number = min(_page_number(query.get(PAGE_PARAM)) or 1, num_pages)
    older, newer = parse_cursor(query.get(OLDER_PARAM)), parse_cursor(query.get(NEWER_PARAM))
    if older is not None or newer is not None:
        found = selection.page(newest_first=older is not None, beyond=older or newer,
                               limit=per_page + 1)
        if older is not None:
            rows, has_older, has_newer = found[:per_page], len(found) > per_page, True
        else:
            rows, has_older, has_newer = found[:per_page][::-1], True, len(found) > per_page
        if not rows:  # a stale cursor: start again from the newest
            return purge_page(selection, {}, per_page)
        number = number if has_newer else 1
    else:
        if number * 2 <= num_pages + 1:  # nearer the newest end
            rows = selection.page(limit=per_page, offset=(number - 1) * per_page)
        else:  # nearer the oldest end: read from there (the last page skips nothing)
            skip = max(0, total - number * per_page)
            size = min(number * per_page, total) - (number - 1) * per_page
            rows = selection.page(newest_first=False, limit=size, offset=skip)[::-1]
        has_older, has_newer = number < num_pages, number > 1
    edge_first, edge_last = (rows[0], rows[-1]) if rows else (None, None)
    return PurgePage(
        rows=rows, number=number, num_pages=num_pages, total=total,
        without_detail=without_detail,
        older=cursor_of(edge_last[_CREATED_AT], edge_last[_ID])
        if edge_last is not None and has_older else None,
        newer=cursor_of(edge_first[_CREATED_AT], edge_first[_ID])
        if edge_first is not None and has_newer else None,
    )
