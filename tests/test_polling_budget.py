"""The hard budget: the dashboard's own cap, Retry-After, X-Rate-Limit-Remaining, priority."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import caches

from dashboard.polling import askers, budget, problems, store
from dashboard.polling import reads as upstream
from dashboard.voucherify.errors import BudgetExhaustedError, RateLimitedError
from tests.helpers.upstream import LIST, live_action, upstream_calls


def _poll_newest_page(times: int, clock) -> list:
    served = []
    for _ in range(times):
        clock.advance(2.5)  # each poll in a new interval: each wants a fresh list
        served.append(upstream.fetch_page(limit=25, background=True))
    return served


def test_calls_beyond_the_cap_are_not_made_and_stale_data_is_served(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 5
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    served = _poll_newest_page(12, clock)  # 12 intervals within 30 s: twice the cap

    assert upstream_calls(layer) == 5
    assert [fetched.stale for fetched in served] == [False] * 5 + [True] * 7
    assert isinstance(served[-1].problem, BudgetExhaustedError)
    assert served[-1].age_seconds >= 2.5 and "budget" in str(served[-1].problem)


def test_the_budget_frees_up_as_the_window_slides(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 3
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    _poll_newest_page(5, clock)
    clock.advance(61)
    _poll_newest_page(5, clock)

    assert upstream_calls(layer) == 6


def test_nothing_known_and_no_budget_raises_a_clear_error(layer, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    upstream.fetch_page()

    with pytest.raises(BudgetExhaustedError, match="budget of 1 calls a minute"):
        upstream.fetch_action("aa_0c5543f00797b6113f")
    assert upstream_calls(layer) == 1


def test_page_loads_a_person_asked_for_go_before_background_refreshes(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 6
    settings.VOUCHERIFY_BUDGET_RESERVE = 2
    background = _poll_newest_page(8, clock)
    assert upstream_calls(layer) == 4  # background stops with the reserve left
    assert background[-1].stale

    clock.advance(2.5)
    asked = upstream.fetch_page(limit=25)
    clock.advance(2.5)
    asked_again = upstream.fetch_page(limit=10)

    assert not asked.stale and not asked_again.stale
    assert upstream_calls(layer) == 6


def test_no_call_before_a_429s_retry_after(layer, clock):
    ids = [live_action(layer) for _ in range(3)]
    upstream.fetch_page()
    layer.set_faults(force_429=True, retry_after=30)
    clock.advance(2.5)
    limited = upstream.fetch_action(ids[0], background=True)
    layer.clear_faults()  # the upstream would answer again, but its Retry-After still holds

    served = []
    for _ in range(10):  # 25 s of polls, all before the retry moment
        clock.advance(2.5)
        served.append(upstream.fetch_action(ids[1], background=True))
        served.append(upstream.fetch_page(limit=25))
    slowed = upstream.poll_interval()
    clock.advance(40)  # past Retry-After and the window its X-Rate-Limit-Retry names
    recovered = upstream.fetch_action(ids[2], background=True)

    assert isinstance(limited.problem, RateLimitedError) and limited.stale
    assert all(fetched.stale for fetched in served)
    assert slowed > 2.0
    assert not recovered.stale
    assert layer.count(status=429) == 1
    assert upstream_calls(layer, LIST) == 3  # the first, the 429, the recovery


def test_calls_stop_at_the_upstream_reserve_of_x_rate_limit_remaining(layer, settings, clock):
    layer.configure(rate_limit=10)
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 3
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100
    served = _poll_newest_page(12, clock)

    assert upstream_calls(layer) == 7  # the seventh answer said 3 remain
    assert layer.count(status=429) == 0
    assert served[-1].stale and "hold back" in str(served[-1].problem)


def test_poll_interval_grows_when_background_cannot_spend(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 4
    settings.VOUCHERIFY_BUDGET_RESERVE = 1
    settings.ACTIONS_MAX_POLL_INTERVAL = 20.0
    assert upstream.poll_interval() == 2.0

    _poll_newest_page(5, clock)

    assert 2.0 < upstream.poll_interval() <= 20.0


def test_a_full_window_stretches_the_interval_by_one_interval_at_most(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 4
    settings.VOUCHERIFY_BUDGET_RESERVE = 1
    settings.ACTIONS_MAX_POLL_INTERVAL = 20.0
    _poll_newest_page(5, clock)  # the window is full for about a minute

    # Polls between cost next to nothing; a viewer sent away for the whole minute would see
    # the next refresh (anyone's poll after the window slides) that much later.
    assert budget.seconds_until_tokens(background=True) > 40
    assert upstream.poll_interval() == 4.0


def test_the_upstreams_retry_moment_stretches_the_interval_to_it(layer, clock):
    upstream.fetch_page()
    layer.set_faults(force_429=True, retry_after=30)
    clock.advance(2.5)
    upstream.fetch_page()

    assert 25 <= upstream.poll_interval() <= 30


def test_the_window_never_holds_more_than_the_cap(layer, settings, clock):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 7
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    granted = 0
    for _ in range(50):
        clock.advance(0.9)
        try:
            budget.spend(background=False)
            granted += 1
        except BudgetExhaustedError:
            pass
        assert budget.spent() <= 7
    assert granted == 7  # 45 s: nothing has left the window yet


def test_a_call_held_back_by_a_429_names_exactly_the_moment_the_budget_holds_until(
    layer, clock
):
    """Every page held back names the one moment (tests/test_retry_time.py): the refusal
    carries the hold's moment itself, not `now + wait` read from a clock a moment later."""
    budget.note_retry_at(datetime.fromtimestamp(store.now() + 40, UTC))
    clock.advance(3.0000004)  # any time later, down to the microsecond
    with pytest.raises(BudgetExhaustedError) as refused:
        budget.spend(background=False)

    held_until = datetime.fromtimestamp(budget.blocked_until(), UTC)
    assert refused.value.retry_at == held_until
    assert problems.next_try(refused.value) == held_until


def test_a_call_reads_every_window_it_counts_in_at_once(layer, settings, clock, monkeypatch):
    # A person's poll counts in four windows (everyone's, the polls' share, their pace and the
    # person's share): with Redis each read is a round trip, paid before every upstream call.
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 40
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    settings.VOUCHERIFY_POLL_BURST = 2
    settings.VOUCHERIFY_USER_SHARE = 0.25  # 10 a minute, more while 10 are left for others
    shared = caches["default"]
    reads = []
    real_get_many = shared.get_many
    def counted(keys, *args, **kwargs):
        keys = list(keys)
        if any(":spent:" in key for key in keys):  # the windows' counters
            reads.append(keys)
        return real_get_many(keys, *args, **kwargs)

    monkeypatch.setattr(shared, "get_many", counted)
    spent = 0
    with askers.asking(person="someone", purpose=askers.POLL):
        for _ in range(40):
            clock.advance(1)  # a poll a second: the pace refuses some
            reads.clear()
            try:
                budget.spend(background=True)
                spent += 1
            except BudgetExhaustedError:
                assert len(reads) >= 1  # working out the wait reads again
                continue
            assert len(reads) == 1
            assert sum(":person:" in key for key in reads[0]) == budget.WINDOW_SECONDS
    assert 0 < spent == budget.spent() < 40  # the pace still holds the polls back
