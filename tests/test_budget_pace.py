"""Live updates are paced: their calls stay spread over the minute, never a burst and a stall.

A sliding window alone repeats the shape of a burst a minute later (the calls leave it
together and are spent together again), so every open panel would go stale for most of each
minute. The clock is the layer's (`clock` moves it); calls are counted by the budget and by
the emulator.
"""

from __future__ import annotations

import pytest

from dashboard.polling import askers, budget, store
from dashboard.polling import reads as upstream
from dashboard.voucherify.errors import BudgetExhaustedError, PacedError
from tests.helpers.upstream import DETAIL, LIST, live_action, upstream_calls

CAP = 40  # the share of live updates: 30 a minute


@pytest.fixture
def paced(layer, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = CAP
    settings.VOUCHERIFY_BUDGET_RESERVE = 4
    settings.VOUCHERIFY_POLL_SHARE = 0.75
    settings.VOUCHERIFY_SYNC_SHARE = 0.75
    settings.VOUCHERIFY_POLL_BURST = 3  # 3 calls every 6 s: the share's rate
    return layer


def spend_moments(clock, *, purpose: str, seconds: float, every: float) -> list[float]:
    """Moments at which a caller asking for a call every `every` s was let through."""
    granted = []
    with askers.asking(purpose=purpose):
        for _ in range(int(seconds / every)):
            clock.advance(every)
            try:
                budget.spend(background=True)
            except BudgetExhaustedError:
                continue
            granted.append(store.now())
    return granted


def longest_gap(moments: list[float]) -> float:
    return max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))


def test_polls_wanting_more_than_their_share_are_spread_over_the_minute(paced, clock):
    granted = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    # Never more than three in any 6 s, so the longest wait between refreshes is short...
    assert all(later - earlier >= 6 - 1
               for earlier, later in zip(granted, granted[3:], strict=False))
    assert longest_gap(granted) <= 7
    # ...and the share is still spent: about 30 a minute.
    assert 80 <= len(granted) <= 90


def test_a_burst_of_one_spaces_the_refreshes_evenly(paced, settings, clock):
    settings.VOUCHERIFY_POLL_BURST = 1  # the default: one call every 2 s of a 30-call share
    granted = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    assert all(later - earlier >= 2 - 0.5
               for earlier, later in zip(granted, granted[1:], strict=False))
    assert longest_gap(granted) <= 3 + 0.5  # whole-second counters, polls 0.5 s apart
    assert 80 <= len(granted) <= 90


def test_unpaced_polls_burst_then_stall_for_most_of_the_minute(paced, settings, clock):
    settings.VOUCHERIFY_POLL_BURST = 0
    granted = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    assert longest_gap(granted) > 30  # what the pace prevents


def test_background_work_is_not_paced(paced, clock):
    granted = spend_moments(clock, purpose=askers.SYNC, seconds=20, every=0.5)

    assert len(granted) == 30  # its whole share at once: a backfill is not held back


def test_a_refresh_put_off_by_the_pace_serves_the_known_page_as_fresh(
    paced, settings, clock, monkeypatch
):
    settings.ACTIONS_POLL_INTERVAL = 1.0
    start = store.now()  # the layer's clock moves only as the test moves it: on a busy
    monkeypatch.setattr(store, "now", lambda: start + clock.offset)  # machine, real seconds
    # passing between the polls would let a third group of three in
    served, ages = [], []
    with askers.asking(purpose=askers.POLL):
        for _ in range(12):
            clock.advance(1.1)  # each poll in a new interval: each wants a fresh list
            served.append(upstream.fetch_page(limit=25, background=True))
            ages.append(served[-1].age_seconds)

    calls = upstream_calls(paced, LIST)
    assert calls <= 3 * 2 + 1  # 13 s: three every 6 s
    # The others were put off, not refused for want of calls: no notice, and never older
    # than one pace.
    assert not any(fetched.stale or fetched.problem for fetched in served)
    assert max(ages) < 6 + 1.1


def test_a_page_older_than_the_pace_and_put_off_again_says_so(paced, clock):
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_page(limit=25, background=True)
        clock.advance(20)  # nobody polled for a while
        for _ in range(3):  # three other refreshes this second fill the pace
            budget.spend(background=True)
        fetched = upstream.fetch_page(limit=25, background=True)

    assert fetched.stale and isinstance(fetched.problem, PacedError)
    assert "spread over the minute" in str(fetched.problem)
    assert upstream_calls(paced, LIST) == 1


def test_with_a_burst_of_one_a_put_off_refresh_stays_fresh_for_three_slots(
    paced, settings, clock
):
    """One call every 2 s: the next slot may go to another live read (a result), so the known
    page stays fresh for the 6 s three slots take, then it says it is late."""
    settings.VOUCHERIFY_POLL_BURST = 1
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_page(limit=25, background=True)
        clock.advance(2 + 4)  # the interval, and 4 s of slots taken by other reads
        budget.spend(background=True)  # another live read takes this slot
        within = upstream.fetch_page(limit=25, background=True)
        clock.advance(3)
        budget.spend(background=True)
        beyond = upstream.fetch_page(limit=25, background=True)

    assert not within.stale and within.problem is None
    assert beyond.stale and isinstance(beyond.problem, PacedError)
    assert upstream_calls(paced, LIST) == 1


def test_the_poll_interval_is_not_stretched_by_the_pace(paced, clock):
    intervals = []
    with askers.asking(purpose=askers.POLL):
        for _ in range(60):
            clock.advance(1)
            upstream.fetch_page(limit=25, background=True)
            intervals.append(upstream.poll_interval())

    assert set(intervals) == {2.0}


def test_the_one_read_of_an_action_that_just_finished_is_not_put_off(paced, clock):
    action_id = live_action(paced)
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_action(action_id, background=True)
        live_action(paced, action_id=action_id, status="DONE", result={"failed_count": 2})
        paced.clear_stats()
        clock.advance(2.5)
        upstream.fetch_page(background=True)  # the refresh that shows it finished
        while True:  # other refreshes fill the pace
            try:
                budget.spend(background=True)
            except PacedError:
                break
        done = upstream.fetch_action(action_id, background=True)

    # Its result is read now: served as fresh without it, the panel would stop polling
    # with no result to show.
    assert done.value.status == "DONE" and not done.stale
    assert done.value.result is not None and done.value.result.failed_count == 2
    assert upstream_calls(paced, DETAIL) == 1
