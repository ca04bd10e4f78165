"""The polling economy: shared reads, single flight, bulk refresh, immutable terminal actions."""

from __future__ import annotations

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import CacheKeyWarning

from dashboard.polling import economy, singleflight, store
from dashboard.polling import reads as upstream
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.errors import InvalidActionIdError, NotFoundError, UpstreamError
from tests.helpers.upstream import (
    DETAIL,
    LIST,
    finish_action,
    insert_terminal,
    live_action,
    upstream_calls,
)


def _terminal_id(emulator) -> str:
    page = emulator.api("/v1/async-actions?limit=100").json()
    return next(a["id"] for a in page["async_actions"] if a["status"] in ("DONE", "FAILED"))


@pytest.mark.parametrize("what", ["page", "action"])
def test_concurrent_reads_of_one_resource_make_one_upstream_call(layer, what):
    action_id = _terminal_id(layer)
    layer.clear_stats()
    layer.set_faults(latency_ms=200)  # every thread arrives while the first call is in flight
    start = threading.Barrier(12)

    def read(_: int):
        start.wait()
        if what == "page":
            return upstream.fetch_page(limit=25).value.actions[0].id
        return upstream.fetch_action(action_id).value.id

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(read, range(12)))

    assert len(set(answers)) == 1
    assert upstream_calls(layer) == 1


def test_terminal_action_is_read_once_and_never_again(layer, clock):
    action_id = _terminal_id(layer)
    layer.clear_stats()

    first = upstream.fetch_action(action_id)
    clock.advance(3600)
    second = upstream.fetch_action(action_id, background=True)

    assert first.value.is_terminal and second.value == first.value
    assert upstream_calls(layer, DETAIL) == 1
    assert upstream_calls(layer) == 1


def test_live_actions_on_the_newest_page_refresh_with_one_list_call(layer, clock):
    ids = [live_action(layer) for _ in range(10)]
    layer.clear_stats()

    for _ in range(3):  # three polls within one interval
        latest = upstream.refresh_live(ids)
    assert set(latest) == set(ids)
    assert all(fetched.value.is_live and not fetched.stale for fetched in latest.values())
    assert upstream_calls(layer, LIST) == 1

    clock.advance(2.5)  # the next interval: again one list call for all of them
    upstream.refresh_live(ids)
    for action_id in ids:
        upstream.fetch_action(action_id, background=True)
    assert upstream_calls(layer, LIST) == 2
    assert upstream_calls(layer, DETAIL) == 0


def test_every_read_stored_moves_the_reads_epoch_and_a_cached_answer_does_not(layer, clock):
    """The epoch tells every process's learned poll answers (dashboard/quick_polls.py) that
    newer data is in the shared cache."""
    ids = [live_action(layer) for _ in range(3)]
    epochs = [store.reads_epoch()]
    upstream.refresh_live(ids)  # one list call
    epochs.append(cache.get(store.READS_EPOCH_KEY))
    upstream.refresh_live(ids)  # served from the cache
    epochs.append(cache.get(store.READS_EPOCH_KEY))
    clock.advance(2.5)
    upstream.refresh_live(ids)  # the next interval's list call
    epochs.append(cache.get(store.READS_EPOCH_KEY))

    assert upstream_calls(layer, LIST) == 2
    first, after_call, after_hit, after_next = epochs
    assert len({first, after_call, after_next}) == 3 and after_hit == after_call


def test_a_read_counts_from_when_its_call_was_made(layer, clock, monkeypatch):
    """Upstream's state is as of the call at the latest: counted from its answer instead,
    every refresh would come later than the pace allows by as long as a call takes."""
    ids = [live_action(layer) for _ in range(2)]
    list_actions = VoucherifyClient.list_actions

    def slow(self, *args, **kwargs):
        page = list_actions(self, *args, **kwargs)
        clock.advance(0.4)  # the call took this long
        return page

    monkeypatch.setattr(VoucherifyClient, "list_actions", slow)
    asked = store.now()
    latest = upstream.refresh_live(ids)

    read_at = {fetched.fetched_at.timestamp() for fetched in latest.values()}
    assert len(read_at) == 1 and asked <= read_at.pop() < asked + 0.4  # not after the answer


def test_live_panels_are_served_from_the_shared_list(layer, clock):
    ids = [live_action(layer) for _ in range(5)]
    upstream.fetch_page(limit=25)  # a person opened the list page first
    layer.clear_stats()

    for action_id in ids:
        assert upstream.fetch_action(action_id, background=True).value.is_live

    assert upstream_calls(layer) == 0


@pytest.mark.parametrize("together", ["one_after_another", "at_once"])
@pytest.mark.parametrize("background", [False, True], ids=["page_loads", "polls"])
def test_cold_panels_opened_together_share_one_list_call(
        layer, still_clock, together, background):
    """Nothing is cached (the first page loads after a start, every open panel's poll after
    the shared cache was emptied): the first live action is read on its own, those asked for
    after it share one read of the newest page instead of a detail call each."""
    ids = [live_action(layer) for _ in range(10)]
    layer.clear_stats()
    answers = [upstream.fetch_action(ids[0], background=background)]
    if together == "at_once":
        layer.set_faults(latency_ms=200)  # the others arrive while the list call is in flight
        start = threading.Barrier(len(ids) - 1)

        def read(action_id: str):
            start.wait()
            return upstream.fetch_action(action_id, background=background)

        with ThreadPoolExecutor(len(ids) - 1) as pool:
            answers += pool.map(read, ids[1:])
    else:
        answers += [upstream.fetch_action(action_id, background=background)
                    for action_id in ids[1:]]

    assert [fetched.value.id for fetched in answers] == ids
    assert all(fetched.value.is_live and not fetched.stale for fetched in answers)
    assert upstream_calls(layer, DETAIL) == 1
    assert upstream_calls(layer, LIST) == 1


def test_cold_panels_opened_while_the_list_page_loads_wait_for_its_call(layer, still_clock):
    ids = [live_action(layer) for _ in range(5)]
    layer.clear_stats()
    layer.set_faults(latency_ms=300)
    with ThreadPoolExecutor(len(ids) + 1) as pool:
        listed = pool.submit(upstream.fetch_page, limit=25)
        while cache.get(singleflight.lock_key("newest")) is None and not listed.done():
            time.sleep(0.005)  # the list page's call is in flight
        answers = list(pool.map(upstream.fetch_action, ids))

    assert {action.id for action in listed.result().value.actions} >= set(ids)
    assert all(fetched.value.is_live and not fetched.stale for fetched in answers)
    assert upstream_calls(layer, DETAIL) == 0
    assert upstream_calls(layer, LIST) == 1


def test_a_cold_read_whose_newest_page_fails_says_so_without_a_detail_call_more(
        layer, still_clock):
    """Voucherify down with nothing cached: a panel that reads the newest page first is told
    why at once, not after its own detail call fails too (a second wait on a dead upstream)."""
    first, second = live_action(layer), live_action(layer)
    upstream.fetch_action(first)  # read cold while Voucherify answered
    layer.set_faults(error_status=503, error_rate=1.0)
    layer.clear_stats()

    with pytest.raises(UpstreamError):
        upstream.fetch_action(second)

    assert upstream_calls(layer, DETAIL) == 0
    assert upstream_calls(layer, LIST) >= 1


def test_cold_reads_of_finished_or_unknown_actions_are_a_detail_call_each(layer, still_clock):
    finished = [a for a in layer.api("/v1/async-actions?limit=100").json()["async_actions"]
                if a["status"] in ("DONE", "FAILED")][:3]
    layer.clear_stats()

    for action in finished:
        assert upstream.fetch_action(action["id"]).value.is_terminal
    with pytest.raises(NotFoundError):
        upstream.fetch_action("aa_0123456789abcdef01")
    with pytest.raises(NotFoundError):
        upstream.fetch_action("aa_0123456789abcdef02")

    assert upstream_calls(layer, DETAIL) == 5
    assert upstream_calls(layer) == 5


def test_a_cold_read_an_interval_after_another_is_one_detail_call(layer, still_clock):
    first, second = _terminal_id(layer), live_action(layer, minutes_old=60 * 24 * 90)
    layer.clear_stats()

    upstream.fetch_action(first)
    still_clock.advance(2.5)
    assert upstream.fetch_action(second).value.is_live

    assert upstream_calls(layer, DETAIL) == 2
    assert upstream_calls(layer) == 2


def test_live_action_that_turned_terminal_is_read_in_detail_once(layer, clock):
    action_id = live_action(layer)
    assert upstream.fetch_action(action_id).value.status == "IN_PROGRESS"
    live_action(layer, action_id=action_id, status="DONE", result={"failed_count": 2})
    layer.clear_stats()

    for _ in range(4):
        clock.advance(2.5)
        done = upstream.fetch_action(action_id, background=True)
        upstream.refresh_live([action_id])

    assert done.value.status == "DONE" and done.value.result.failed_count == 2
    assert upstream_calls(layer, LIST) == 1  # the one that showed it done
    assert upstream_calls(layer, DETAIL) == 1


def test_older_live_action_is_refreshed_by_one_shared_detail_call_per_interval(layer, clock):
    old_id = live_action(layer, minutes_old=60 * 24 * 90)  # far below the newest 100
    upstream.fetch_page()  # the newest page is known and fresh
    layer.clear_stats()

    for _ in range(5):
        assert upstream.fetch_action(old_id, background=True).value.is_live
    upstream.refresh_live([old_id])
    clock.advance(2.5)
    upstream.refresh_live([old_id, old_id])

    assert upstream_calls(layer, DETAIL) == 2
    assert upstream_calls(layer, LIST) == 0


def test_smaller_newest_pages_are_slices_of_the_shared_list(layer):
    pages = [upstream.fetch_page(limit=limit).value for limit in (10, 25, 50, 100)]

    assert [len(page.actions) for page in pages] == [10, 25, 50, 100]
    assert all(page.has_more and page.next_cursor is not None for page in pages)
    assert upstream_calls(layer) == 1


def test_older_pages_are_cached_by_cursor(layer):
    cursor = upstream.fetch_page(limit=100).value.next_cursor  # below the newest list
    first = upstream.fetch_page(limit=25, cursor=cursor).value
    again = upstream.fetch_page(limit=25, cursor=cursor, background=True).value

    assert first == again and first.actions[0].created_at <= cursor.before
    assert upstream_calls(layer, LIST) == 2


def test_an_older_pages_read_leaves_the_reads_epoch_as_it_is(layer):
    """No poll answer is made of an older page: people browsing history do not make every
    process learn its poll answers again."""
    cursor = upstream.fetch_page(limit=100).value.next_cursor
    before = cache.get(store.READS_EPOCH_KEY)
    upstream.fetch_page(limit=25, cursor=cursor)

    assert upstream_calls(layer, LIST) == 2
    assert cache.get(store.READS_EPOCH_KEY) == before


def test_older_pages_inside_the_newest_list_are_slices_of_it(layer):
    walked, page = [], upstream.fetch_page(limit=25).value
    walked += page.actions
    for _ in range(3):  # Older, Older, Older: still inside the newest hundred
        page = upstream.fetch_page(limit=25, cursor=page.next_cursor).value
        walked += page.actions

    assert upstream_calls(layer, LIST) == 1
    direct = upstream.get_client().list_actions(limit=100).actions  # one more, to compare
    assert [a.id for a in walked] == [a.id for a in direct]  # none lost, none repeated


def test_nothing_is_asked_upstream_without_requests(layer):
    threads_before = set(threading.enumerate())
    upstream.get_client()
    upstream.poll_interval()
    upstream.refresh_live([])

    assert upstream_calls(layer) == 0
    started = set(threading.enumerate()) - threads_before
    # No background timers or threads (the emulator's own connection threads aside).
    assert not [thread for thread in started if "process_request" not in thread.name]


def test_invalid_id_is_refused_before_any_call(layer):
    with pytest.raises(InvalidActionIdError):
        upstream.fetch_action("../etc/passwd")
    assert upstream_calls(layer) == 0


def test_an_id_no_address_can_carry_names_no_cache_entry(layer):
    """A list row whose id is not a valid id (a space, from a hostile upstream) is shown but
    never asked for alone: it gets no entry, and no key memcached could not hold."""
    insert_terminal(layer, "aa_16 x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        page = upstream.fetch_page(limit=100).value
        assert "aa_16 x" in [action.id for action in page.actions]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)  # the look itself uses such a key
        assert cache.get(economy.action_key("aa_16 x")) is None


def test_unknown_action_raises_not_found_and_is_not_asked_again_at_once(layer):
    upstream.fetch_page()
    for _ in range(3):
        with pytest.raises(NotFoundError):
            upstream.fetch_action("aa_00000000000000000000")
    assert upstream_calls(layer, DETAIL) == 1


def test_failing_upstream_serves_what_is_known_marked_stale(layer, clock):
    ids = [live_action(layer) for _ in range(2)]
    upstream.fetch_page()
    fresh = upstream.fetch_action(ids[0])
    layer.set_faults(error_status=503, error_rate=1.0)
    clock.advance(2.5)

    served = upstream.fetch_action(ids[0], background=True)
    again = upstream.fetch_action(ids[0], background=True)
    rows = upstream.refresh_live(ids)

    assert served.stale and served.problem is not None and served.value == fresh.value
    assert served.age_seconds >= 2.5
    assert again.stale and set(rows) == set(ids)
    assert upstream_calls(layer, LIST) == 2  # one good, one failed; then it backs off
    assert upstream.poll_interval() > 2.0


def test_naive_mode_asks_upstream_for_every_read(layer, settings):
    settings.VOUCHERIFY_POLLING_MODE = "naive"
    action_id = _terminal_id(layer)
    layer.clear_stats()

    for _ in range(3):
        upstream.fetch_action(action_id, background=True)

    assert upstream_calls(layer, DETAIL) == 3


def test_off_page_live_actions_polled_by_many_share_one_list_call_per_interval(layer, clock):
    """M live actions below the newest page, each polled by N viewers: one window list call
    per interval refreshes them all, instead of M detail calls."""
    ids = [live_action(layer, minutes_old=60 * 24 * 90 + minute) for minute in range(5)]
    upstream.fetch_page()  # the newest page is known and fresh
    for action_id in ids:  # each panel's page load
        upstream.fetch_action(action_id)
    layer.clear_stats()

    intervals = 3
    for _ in range(intervals):
        clock.advance(2.5)
        for _viewer in range(20):
            for action_id in ids:
                fetched = upstream.fetch_action(action_id, background=True)
                assert fetched.value.is_live and not fetched.stale

    assert upstream_calls(layer, LIST) == intervals
    assert upstream_calls(layer, DETAIL) <= 1  # the first one polled, before others are watched
    assert upstream_calls(layer) <= intervals * len(ids)


def test_a_list_row_whose_result_must_wait_is_served_the_list_item_not_stale(
    layer, clock, settings
):
    """The row shows its status from the list call while the budget puts its result off: the
    same for every viewer (a stale row would be rendered for each), the result read later."""
    action_id = live_action(layer)
    upstream.refresh_live([action_id])
    finish_action(layer, action_id, result={"done_count": 3, "failed_count": 1})
    clock.advance(2.5)  # the interval: the rows are refreshed
    layer.set_faults(error_rate=1.0, error_status=429, endpoints=["/v1/async-actions/{id}"])
    layer.clear_stats()
    latest = upstream.refresh_live([action_id])[action_id]

    assert latest.value.status == "DONE" and not latest.stale
    assert "result" not in latest.value.raw
    assert upstream_calls(layer, LIST) == 1
    layer.clear_faults()
    clock.advance(120)  # past any retry moment the 429 named
    done = upstream.fetch_action(action_id, background=True)  # a panel of it reads the result
    assert done.value.result.failed_count == 1 and not done.stale
