"""Live updates are paced: their calls stay spread over the minute, never a burst and a stall.

A sliding window alone repeats the shape of a burst a minute later (the calls leave it
together and are spent together again), so every open panel would go stale for most of each
minute. The results of finished actions have a part of the share of their own, so reading
them never holds the refreshes back either. The clock is the layer's (`clock` moves it); calls
are counted by the budget and by the emulator.
"""

from __future__ import annotations

import pytest

from dashboard.polling import askers, budget, store
from dashboard.polling import reads as upstream
from dashboard.voucherify.errors import BudgetExhaustedError, PacedError
from tests.helpers.upstream import DETAIL, LIST, live_action, upstream_calls

CAP = 40  # the share of live updates: 30 a minute, 21 refreshes (one every 3 s) and 9 results


@pytest.fixture
def paced(layer, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = CAP
    settings.VOUCHERIFY_BUDGET_RESERVE = 4
    settings.VOUCHERIFY_POLL_SHARE = 0.75
    settings.VOUCHERIFY_SYNC_SHARE = 0.75
    settings.VOUCHERIFY_RESULT_SHARE = 0.3
    settings.VOUCHERIFY_POLL_BURST = 3  # 3 calls every 9 s: the refreshes' rate
    return layer


def spend_moments(clock, *, purpose: str, seconds: float, every: float,
                  result_every: float | None = None, counted: dict | None = None
                  ) -> tuple[list[float], list[float]]:
    """Moments at which a caller asking for a refresh every `every` s was let through, and
    those at which one asking for a result every `result_every` s was. `counted`: for each
    of its window parts, the most calls the budget's own counters held there at any step."""
    granted: tuple[list[float], list[float]] = ([], [])
    results_due = result_every
    with askers.asking(purpose=purpose):
        for _ in range(int(seconds / every)):
            clock.advance(every)
            asks = [False]
            if results_due is not None and (results_due := results_due - every) <= 0:
                results_due += result_every
                asks.insert(0, True)  # a result first: it must not take a refresh's call
            for result in asks:
                try:
                    budget.spend(background=True, result=result)
                except BudgetExhaustedError:
                    continue
                granted[result].append(store.now())
            for parts in counted or {}:
                held = sum(budget.spent_by_second(parts=parts).values())
                counted[parts] = max(counted[parts], held)
    return granted


def longest_gap(moments: list[float]) -> float:
    return max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))


def test_polls_wanting_more_than_their_share_are_spread_over_the_minute(paced, clock):
    granted, _ = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    # Never more than three in any 9 s, so the longest wait between refreshes is short...
    assert all(later - earlier >= 9 - 1
               for earlier, later in zip(granted, granted[3:], strict=False))
    assert longest_gap(granted) <= 10
    # ...and the refreshes' part of the share is still spent: about 21 a minute.
    assert 57 <= len(granted) <= 64


def test_a_burst_of_one_spaces_the_refreshes_evenly(paced, settings, clock):
    settings.VOUCHERIFY_POLL_BURST = 1  # the default: one call every 3 s of a 21-call part
    granted, _ = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    assert all(later - earlier >= 3 - 1
               for earlier, later in zip(granted, granted[1:], strict=False))
    assert longest_gap(granted) <= 3 + 1  # whole-second counters, polls 0.5 s apart
    assert 57 <= len(granted) <= 64


def test_results_of_finished_actions_never_hold_the_refreshes_back(paced, settings, clock):
    """Ten actions finishing a minute, each read once for its result, beside refreshes
    wanted all the time: the refreshes keep their pace, and results get their own part."""
    settings.VOUCHERIFY_POLL_BURST = 1
    share, results_part = ("purpose", askers.POLL), ("purpose", askers.POLL, budget.RESULTS)
    counted = {share: 0, results_part: 0}
    refreshes, results = spend_moments(clock, purpose=askers.POLL, seconds=240, every=0.5,
                                       result_every=6, counted=counted)

    assert longest_gap(refreshes) <= 3 + 1  # no stall: results never filled the share
    assert 34 <= len(results) <= 40  # about 9 of the 10 a minute wanted
    assert counted[results_part] == 9  # the results' part of the 30, reached, never passed
    assert counted[share] <= 30  # the live updates' share


def test_results_counted_with_the_refreshes_filled_the_share_and_stalled_them(
    paced, settings, clock
):
    """What the results' own part prevents: with no pace each result read takes a call the
    refreshes then miss, and the window, full, holds every refresh back until it slides."""
    settings.VOUCHERIFY_POLL_BURST = 0
    refreshes, _ = spend_moments(clock, purpose=askers.POLL, seconds=240, every=0.5,
                                 result_every=6)

    assert longest_gap(refreshes) > 10


def test_unpaced_polls_burst_then_stall_for_most_of_the_minute(paced, settings, clock):
    settings.VOUCHERIFY_POLL_BURST = 0
    granted, _ = spend_moments(clock, purpose=askers.POLL, seconds=180, every=0.5)

    assert longest_gap(granted) > 30  # what the pace prevents


def test_background_work_is_not_paced(paced, clock):
    granted, _ = spend_moments(clock, purpose=askers.SYNC, seconds=20, every=0.5)

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
    assert calls <= 3 * 2  # 13 s: three every 9 s
    # The others were put off, not refused for want of calls: no notice, and never older
    # than one pace.
    assert not any(fetched.stale or fetched.problem for fetched in served)
    assert max(ages) < 9 + 1.1


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
    """One refresh every 3 s: the next slots may go to other live reads (an action off the
    newest page), so the known page stays fresh for the 9 s three slots take, then it says it
    is late."""
    settings.VOUCHERIFY_POLL_BURST = 1
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_page(limit=25, background=True)
        clock.advance(2 + 7)  # the interval, and 7 s of slots taken by other reads
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


def test_a_result_beyond_its_part_of_the_share_waits_and_says_why(paced, settings, clock):
    settings.VOUCHERIFY_POLL_BURST = 1
    action_id = live_action(paced)
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_action(action_id, background=True)
        live_action(paced, action_id=action_id, status="DONE", result={"failed_count": 2})
        clock.advance(3.5)
        upstream.fetch_page(background=True)  # the refresh that shows it finished
        for _ in range(9):  # nine other actions' results this minute
            budget.spend(background=False, result=True)
        paced.clear_stats()
        waiting = upstream.fetch_action(action_id, background=True)
        refresh_calls = upstream_calls(paced, DETAIL)
        clock.advance(budget.WINDOW_SECONDS)
        done = upstream.fetch_action(action_id, background=True)

    # Shown finished at once, marked as not read yet (so its panel keeps polling), and why.
    assert waiting.value.status == "DONE" and waiting.stale
    assert "results of finished actions is spent" in str(waiting.problem)
    assert refresh_calls == 0
    # Read once the minute has room for it.
    assert not done.stale and done.value.result.failed_count == 2
    assert upstream_calls(paced, DETAIL) == 1


def results_for_the_list(emulator, finished: list[str]) -> list[int]:
    """The list's polls asking for each finished row's result: the failed counts read."""
    read = []
    for action_id in finished:
        try:
            read.append(upstream.fetch_result(action_id).value.result.failed_count)
        except BudgetExhaustedError as error:
            assert "results of finished rows on the list" in str(error) or \
                "results of finished actions" in str(error)
    return read


def test_the_lists_result_reads_leave_part_of_theirs_while_a_running_actions_page_is_open(
        paced, settings, clock):
    """The list reads the results of finished rows nobody has opened, a few per poll, from
    the same part of the share as a panel's last read. While someone has a running action's
    page open, it leaves a third of that part to the panel: when the action finishes, its
    result is read at the panel's next poll, not after the list's backlog (a hundred rows at
    a first start: minutes)."""
    settings.VOUCHERIFY_POLL_BURST = 1  # the results' part: 9 calls a minute
    backlog = [live_action(paced, status="DONE", result={"failed_count": n}) for n in range(30)]
    action_id = live_action(paced)
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_action(action_id, background=True)  # its panel, open
        live_action(paced, action_id=action_id, status="DONE", result={"failed_count": 2})
        clock.advance(3.5)
        upstream.fetch_page(background=True)  # the refresh that shows it finished
        listed = results_for_the_list(paced, backlog)
        paced.clear_stats()
        done = upstream.fetch_action(action_id, background=True)

    assert listed == list(range(6))  # 6 of the 9: a third left to the panel
    assert not done.stale and done.value.result.failed_count == 2
    assert upstream_calls(paced, DETAIL) == 1


def test_with_no_running_actions_page_open_the_list_takes_the_whole_part(paced, settings,
                                                                          clock):
    settings.VOUCHERIFY_POLL_BURST = 1
    backlog = [live_action(paced, status="DONE", result={"failed_count": n}) for n in range(12)]
    with askers.asking(purpose=askers.POLL):
        listed = results_for_the_list(paced, backlog)
        clock.advance(budget.WINDOW_SECONDS)
        later = results_for_the_list(paced, backlog[len(listed):])
    assert listed == list(range(9))
    assert later == [9, 10, 11]


@pytest.mark.parametrize(("results", "kept"), [(1, 0), (2, 0), (3, 1), (9, 3), (44, 14)])
def test_a_third_of_the_results_part_is_kept_for_panels_when_it_can_be_split(results, kept):
    """A part of one or two calls is the list's as well: else it would read no result."""
    assert budget.kept_for_panels(results) == kept


def test_live_data_counts_as_fresh_for_the_pace_so_polls_meanwhile_ask_nothing(
    paced, settings, clock, monkeypatch
):
    """One refresh every 3 s: data 2.5 s old cannot be refreshed yet, so polls are served it
    from the cache as fresh, without asking the budget (or the archive) each time."""
    settings.VOUCHERIFY_POLL_BURST = 1
    action_id = live_action(paced)
    asked, spend = [], budget.spend
    monkeypatch.setattr(budget, "spend", lambda **how: (asked.append(how), spend(**how))[1])
    with askers.asking(purpose=askers.POLL):
        upstream.fetch_action(action_id, background=True)
        clock.advance(2.5)  # older than the 2 s interval, younger than the pace
        meanwhile = [upstream.fetch_action(action_id, background=True) for _ in range(5)]
        clock.advance(1)
        later = upstream.fetch_action(action_id, background=True)

    assert not any(fetched.stale for fetched in meanwhile)
    assert {fetched.fetched_at for fetched in meanwhile} != {later.fetched_at}
    assert len(asked) == 2 and paced.count() == 2
