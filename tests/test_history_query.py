"""List filters answered from the archive only where it holds the whole range."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.history.models import SyncState
from dashboard.history.query import ListFilter, archived_count, archived_matches
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.dates import parse_timestamp
from tests.helpers.upstream import insert_terminal, run_sync, upstream_history


def walk(before: Cursor, limit: int, **filters) -> list[str]:
    """Every id the archive answers page after page, following its cursors."""
    ids: list[str] = []
    cursor: Cursor | None = before
    while cursor is not None:
        answer = archived_matches(before=cursor, limit=limit, **filters)
        assert answer is not None
        ids += [action.id for action in answer.rows]
        assert len(answer.rows) <= limit
        cursor = answer.next_cursor
    return ids


@pytest.mark.parametrize("filters", [
    {"context": "CUSTOMERS", "type": None, "status": "FAILED"},
    {"context": None, "type": "CUSTOMERS.IMPORT_CSV", "status": None},
    {"context": "METADATA_KEY_PURGE", "type": None, "status": "DONE"},
    {"context": None, "type": None, "status": None},
])
@pytest.mark.parametrize("limit", [1, 10, 100])
def test_paging_through_the_archive_gives_what_the_upstream_holds(
    synced, archive, filters, limit
):
    top = Cursor(before=SyncState.load().covered_to)
    ids = walk(top, limit, **filters)
    assert archive.count() == 0
    truth = [
        a["id"] for a in upstream_history(archive)
        if parse_timestamp(a["created_at"]) < top.before
        and (filters["context"] is None or catalog.context_of(a["type"]) == filters["context"])
        and (filters["type"] is None or a["type"] == filters["type"])
        and (filters["status"] is None or a["status"] == filters["status"])
    ]
    assert sorted(ids) == sorted(truth) and len(ids) == len(set(ids))


def test_a_cursor_inside_a_tie_returns_the_unseen_twins_only(synced, archive):
    items = upstream_history(archive)
    twins = [a for a in items if [b["created_at"] for b in items].count(a["created_at"]) >= 3]
    instant = parse_timestamp(twins[0]["created_at"])
    same = [a["id"] for a in twins if a["created_at"] == twins[0]["created_at"]]
    cursor = Cursor(before=instant, seen=frozenset(same[:1]))
    answer = archived_matches(context=None, type=None, status=None, before=cursor, limit=100)
    returned = [a.id for a in answer.rows]
    assert same[0] not in returned and set(same[1:]) <= set(returned)


def test_the_archive_does_not_answer_before_a_sync_or_for_the_newest_range(archive, db):
    assert archived_matches(context=None, type=None, status=None,
                            before=Cursor(before=parse_timestamp("2026-01-01")), limit=10) is None
    run_sync()
    state = SyncState.load()
    newer = Cursor(before=state.covered_to + timedelta(seconds=1))
    assert archived_matches(context=None, type=None, status=None, before=newer, limit=10) is None
    assert archived_matches(context=None, type=None, status=None, before=None, limit=10) is None


@pytest.mark.parametrize("status", ["ENQUEUED", "IN_PROGRESS"])
def test_live_statuses_are_never_answered_from_the_archive(synced, status):
    top = Cursor(before=SyncState.load().covered_to)
    assert archived_matches(context=None, type=None, status=status, before=top, limit=10) is None


def test_below_a_partial_sync_the_archive_answers_only_full_pages(archive):
    run_sync(max_calls=1)  # the newest 100 only
    state = SyncState.load()
    top = Cursor(before=state.covered_to)
    full = archived_matches(context=None, type=None, status=None, before=top, limit=25)
    assert full is not None and len(full.rows) == 25 and full.next_cursor is not None
    assert all(a.created_at > state.covered_from for a in full.rows)
    # Few failed purges among the newest 100: older ones may exist below the synced range.
    sparse = archived_matches(context="METADATA_KEY_PURGE", type=None, status="FAILED",
                              before=top, limit=25)
    assert sparse is None


def test_a_type_longer_than_the_archive_column_is_left_to_upstream(archive):
    # A valid ?type= value (list_params._TYPE) of 203 characters; the column holds 200.
    long_type = "VOUCHERS." + "A" * 64 + "." + "B" * 64 + "." + "C" * 64
    insert_terminal(archive, "aa_000000000longtype1", type_=long_type, minutes_old=60 * 24 * 3)
    run_sync()
    state = SyncState.load()
    assert state.bottom_reached
    below = Cursor(before=state.covered_to)
    # The archive holds that type cut short, so "complete, no match" would be a false answer.
    assert archived_matches(context=None, type=long_type, status=None, before=below,
                            limit=25) is None
    assert archived_count(ListFilter(type=long_type), below) is None
    cut = archived_matches(context=None, type=long_type[:200], status=None, before=below,
                           limit=25)
    assert cut is not None  # a value the column holds whole is still answered


@pytest.mark.django_db
def test_counting_done_with_failures_reads_one_index_alone():
    """At a million archived actions a COUNT over every DONE row takes a second per page view;
    the failures index answers it from its own entries (SQLite's plan says which)."""
    from datetime import UTC, datetime

    from django.db import connection

    from dashboard.history.query import ListFilter, _matching

    if connection.vendor != "sqlite":
        pytest.skip("the plan is read from SQLite's EXPLAIN QUERY PLAN")
    counted = _matching(ListFilter(status=catalog.DONE_WITH_FAILURES),
                        Cursor(before=datetime(2026, 6, 1, tzinfo=UTC))).values("pk")
    sql, params = counted.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM ({sql})", params)
        plan = " ".join(row[-1] for row in cursor.fetchall())
    assert "COVERING INDEX history_failures_idx" in plan, plan
