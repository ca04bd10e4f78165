"""List filters answered from the archive, for the ranges it holds completely."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Q, QuerySet

from dashboard.voucherify.catalog import (
    DONE,
    DONE_WITH_FAILURES,
    LIVE_STATUSES,
    TERMINAL_STATUSES,
)
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import Action
from dashboard.voucherify.paging import next_cursor

from .archive import to_action
from .models import ArchivedAction, SyncState, column_length

logger = logging.getLogger(__name__)

# The statuses the archive answers: it holds finished actions only.
ANSWERABLE = (*TERMINAL_STATUSES, DONE_WITH_FAILURES)


@dataclass(frozen=True)
class ArchiveAnswer:
    """Rows older than the asked cursor, newest first, and where the page after them starts."""

    rows: list[Action]
    next_cursor: Cursor | None  # None: nothing older matches
    synced_to: datetime  # the archive holds every action created up to this moment


def archived_matches(
    *,
    context: str | None,
    type: str | None,  # noqa: A002 - the list's own parameter name
    status: str | None,
    before: Cursor | None,
    limit: int,
    request_id: str | None = None,
    start: datetime | None = None,
) -> ArchiveAnswer | None:
    """Up to `limit` matching actions created before `before` (and at or after `start`);
    None unless the archive holds that whole range (it holds terminal actions only, and the
    newest range is live). "Done with failures" is DONE with failed rows the detail told."""
    if before is None or limit < 1 or (status is not None and status not in ANSWERABLE):
        return None
    if not _fits_columns(ListFilter(context, type, status, request_id, start)):
        return None
    try:
        return _answer(context, type, status, before, limit, request_id, start)
    except DatabaseError:
        logger.exception("Reading the archive for a list filter failed")
        return None


def _no_live_below(before: Cursor) -> ArchiveAnswer | None:
    """For a filter on a live status: every action in the archive's whole range was finished
    when it was read (the range ends below the oldest running one seen, see
    state.covered_top, and starts above the newest one the older walk saw, see
    state.settle), and a finished action never runs again: nothing below `before` is
    enqueued or in progress."""
    held = _held(before, None)
    if held is None or not held[1]:
        return None
    return ArchiveAnswer(rows=[], next_cursor=None, synced_to=held[0].covered_to)


def _held(before: Cursor, start: datetime | None) -> tuple[SyncState, bool] | None:
    """The sync state when the archive holds the range just below `before` (None when it
    does not), and whether it holds every match down from there: the oldest action was
    reached, or everything from `start` on was synced."""
    state = SyncState.peek()
    if state is None or state.covered_to is None or before.before > state.covered_to:
        return None
    complete = state.bottom_reached or (
        start is not None and state.covered_from is not None and start > state.covered_from)
    return state, complete


def archived_count(filters: ListFilter, before: Cursor) -> int | None:
    """How many archived actions match `filters` below `before`, when the archive holds
    that whole range down to the oldest action (None otherwise): the count of a complete
    filter, one COUNT query."""
    try:
        if filters.status in LIVE_STATUSES:
            return 0 if _no_live_below(before) is not None else None
        if filters.status is not None and filters.status not in ANSWERABLE:
            return None
        if not _fits_columns(filters):
            return None
        held = _held(before, filters.start)
        if held is None or not held[1]:
            return None
        return _matching(filters, before).count()
    except DatabaseError:
        logger.exception("Counting archived matches failed")
        return None


def unchecked_done(filters: ListFilter, before: Cursor) -> int:
    """For "Done with failures": the DONE actions below `before`, in the filter's range, whose
    failed rows are not known (their result was never read): each may match, so no count of
    the filter is complete while there are any. One COUNT over the status index."""
    if filters.status != DONE_WITH_FAILURES:
        return 0
    try:
        return _matching(replace(filters, status=DONE), before).filter(
            failed_rows__isnull=True).count()
    except DatabaseError:
        logger.exception("Counting unchecked archived actions failed")
        return 0


def _answer(context: str | None, action_type: str | None, status: str | None, before: Cursor,
            limit: int, request_id: str | None, start: datetime | None) -> ArchiveAnswer | None:
    held = _held(before, start)
    if held is None:
        return None
    state, complete = held
    rows = _matching(ListFilter(context, action_type, status, request_id, start), before)
    if not state.bottom_reached:
        if state.covered_from is None:
            return None
        rows = rows.filter(created_at__gt=state.covered_from)
    found = [to_action(row) for row in rows.order_by("-created_at", "-id").only("raw")[:limit + 1]]
    if len(found) < limit and not complete:
        return None  # more matches may lie below what was synced
    kept = found[:limit]
    more = len(found) > limit or not complete
    following = next_cursor(kept, before) if more and kept else None
    return ArchiveAnswer(rows=kept, next_cursor=following, synced_to=state.covered_to)


def coverage() -> SyncState | None:
    """What the archive holds, for notes on pages (None before the first sync)."""
    try:
        state = SyncState.peek()
    except DatabaseError:
        logger.exception("Reading the archive's sync state failed")
        return None
    return state if state is not None and state.synced else None


@dataclass(frozen=True)
class ListFilter:
    """The filters of a list page the archive can answer (the list page builds it)."""

    context: str | None = None
    type: str | None = None
    status: str | None = None
    request_id: str | None = None
    start: datetime | None = None


def archived_rest(filters: ListFilter | None, cursor: Cursor | None,
                  wanted: int) -> ArchiveAnswer | None:
    """For the list's scan: the rest of a filtered page (`filters` None: unfiltered) from
    `cursor` on, when the archive holds that range; the newest page (cursor None) always
    comes from upstream."""
    if filters is None or cursor is None or wanted < 1:
        return None
    if filters.status in LIVE_STATUSES:
        try:
            return _no_live_below(cursor)
        except DatabaseError:
            logger.exception("Reading the archive's sync state failed")
            return None
    return archived_matches(
        context=filters.context,
        type=filters.type,
        status=filters.status,
        before=cursor,
        limit=wanted,
        request_id=filters.request_id,
        start=filters.start,
    )


def _fits_columns(filters: ListFilter) -> bool:
    """Whether every text filter fits its archive column: the archive keeps a longer value
    cut short (archive.row_fields), so it cannot tell which actions such a filter matches."""
    for name in ("context", "type", "request_id"):
        value = getattr(filters, name)
        if value and len(value) > column_length(name):
            return False
    return True


def _matching(filters: ListFilter, before: Cursor) -> QuerySet[ArchivedAction]:
    """Archived actions created before `before` that match `filters`."""
    older = Q(created_at__lt=before.before)
    if before.seen:  # twins at that instant not returned yet (see Cursor)
        older |= Q(created_at=before.before) & ~Q(pk__in=before.seen)
    rows = ArchivedAction.objects.filter(older)
    for name, value in (("context", filters.context), ("type", filters.type),
                        ("request_id", filters.request_id)):
        if value:
            rows = rows.filter(**{name: value})
    if filters.start is not None:
        rows = rows.filter(created_at__gte=filters.start)
    if filters.status == DONE_WITH_FAILURES:
        rows = rows.filter(status=DONE, failed_rows__gt=0)
    elif filters.status:
        rows = rows.filter(status=filters.status)
    return rows
