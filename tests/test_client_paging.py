"""Walking the upstream's pages yields every action exactly once, ties at page edges included."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.voucherify import Cursor, VoucherifyClient
from dashboard.voucherify.dates import format_timestamp

LIST = "/v1/async-actions"


@pytest.fixture
def client(emulator):
    return VoucherifyClient(emulator.config)


def all_ids(client):
    """Every id, newest first, by the simplest possible means: one big walk."""
    return [action.id for action in client.iter_actions(limit=100)]


@pytest.mark.parametrize("limit", [10, 25, 50, 100])
def test_walking_every_page_yields_each_action_exactly_once(client, limit):
    expected = all_ids(client)
    pages = list(client.iter_pages(limit=limit))
    walked = [action.id for page in pages for action in page.actions]

    assert len(walked) == len(set(walked)), "no duplicates"
    assert set(walked) == set(expected), "none missing"
    assert walked == expected, "newest first, in one order"
    assert all(len(page.actions) <= limit for page in pages)
    assert pages[-1].has_more is False and pages[-1].next_cursor is None
    assert all(page.has_more for page in pages[:-1])


@pytest.mark.parametrize("limit", [10, 25, 50, 100])
def test_the_seeded_ties_really_straddle_page_boundaries(client, limit):
    """Guard for the test above: some page ends inside a group sharing one created_at."""
    straddled = 0
    for page in client.iter_pages(limit=limit):
        cursor = page.cursor
        if cursor and cursor.seen and page.actions and page.actions[0].created_at == cursor.before:
            straddled += 1
    assert straddled >= 1


def test_a_tie_cursor_survives_the_url_and_continues_exactly(client):
    first = client.list_actions(limit=10)
    restored = Cursor.from_param(first.next_cursor.to_param())
    second = client.list_actions(limit=10, cursor=restored)
    both = [a.id for a in first.actions + second.actions]
    assert both == all_ids(client)[:20]


def test_a_plain_date_cursor_means_strictly_before(client):
    newest = client.list_actions(limit=30).actions
    pivot = newest[12].created_at
    page = client.list_actions(limit=10, cursor=Cursor.from_param(format_timestamp(pivot)))
    assert page.actions
    assert all(action.created_at < pivot for action in page.actions)


def test_pages_are_fetched_only_as_they_are_consumed(client, emulator):
    before = emulator.count(endpoint=LIST)
    actions = client.iter_actions(limit=10)
    assert emulator.count(endpoint=LIST) == before
    for _ in range(10):
        next(actions)
    assert emulator.count(endpoint=LIST) == before + 1
    next(actions)
    assert emulator.count(endpoint=LIST) == before + 2


def test_the_walk_stops_at_its_call_cap(client, emulator):
    before = emulator.count(endpoint=LIST)
    actions = list(client.iter_actions(limit=10, max_calls=3))
    assert len(actions) == 30
    assert emulator.count(endpoint=LIST) == before + 3


def test_an_exhausted_history_says_no_more(client):
    oldest = all_ids(client)[-1]
    last = client.get_action(oldest)
    page = client.list_actions(limit=10, cursor=Cursor(before=last.created_at))
    assert page.actions == []
    assert page.has_more is False and page.next_cursor is None


def _insert_twins(emulator, count, moment):
    stamp = format_timestamp(moment)
    ids = [f"aa_tie{index:04d}" for index in range(count)]
    for action_id in ids:
        emulator.insert_action({
            "id": action_id, "type": "VOUCHERS.IMPORT", "status": "DONE", "created_at": stamp,
            "updated_at": stamp, "progress": 100, "object": "async_action",
        })
    return ids


def test_more_twins_than_a_page_still_come_exactly_once(client, emulator):
    moment = datetime(2020, 1, 1, tzinfo=UTC)  # older than the seeded history
    twins = _insert_twins(emulator, 60, moment)
    walked = [a.id for a in client.iter_actions(limit=25)]
    assert len(walked) == len(set(walked))
    assert set(twins) <= set(walked)
    assert walked[-60:] == sorted(twins, reverse=True)


def test_more_than_a_hundred_twins_end_the_walk_without_duplicates(client, emulator, caplog):
    """The documented residual edge: one millisecond holding over 100 actions."""
    moment = datetime(2020, 1, 1, tzinfo=UTC)
    twins = _insert_twins(emulator, 130, moment)
    older = _insert_twins_older(emulator, moment - timedelta(days=1))
    with caplog.at_level(logging.WARNING, logger="dashboard.voucherify"):
        walked = [a.id for a in client.iter_actions(limit=100, max_calls=50)]
    assert len(walked) == len(set(walked))
    assert older in walked, "the walk goes on past the crowded instant"
    assert len(set(twins) & set(walked)) >= 100
    assert "share created_at" in caplog.text


def _insert_twins_older(emulator, moment):
    stamp = format_timestamp(moment)
    emulator.insert_action({
        "id": "aa_older1", "type": "ORDERS.IMPORT", "status": "DONE", "created_at": stamp,
        "object": "async_action",
    })
    return "aa_older1"


@pytest.mark.parametrize("limit", [0, 101, -1, True, "10"])
def test_limits_outside_1_to_100_are_refused_before_any_request(client, emulator, limit):
    before = emulator.count()
    with pytest.raises(ValueError):
        client.list_actions(limit=limit)
    assert emulator.count() == before
