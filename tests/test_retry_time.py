"""During a 429 every retry time a page shows (the moment, the countdown beside it, the
Retry-After header, the live poll's notice) comes from one value: the moment the shared
budget will next let a call through."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from dashboard.polling import budget, problems, store
from dashboard.polling.gate import get_client
from dashboard.voucherify import errors
from tests.helpers.html import soup, text_of

UNREAD = "aa_0d00000000000ffff2"  # on no page read so far: its detail needs a call
OLDER = ("2021-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z")


def retry_moments(response, *, required: bool = True) -> set[str]:
    """Every retry moment the page names, from the <time> elements of its problem notices."""
    page = soup(response)
    found = {t["datetime"] for t in page.select(".upstream-problem time.retry-at")}
    countdowns = {t["datetime"] for t in page.select(".upstream-problem time.retry-in")}
    assert countdowns == found, "the countdown counts to the moment shown"
    assert found or not required, "the page says when it asks again"
    return found


def test_every_retry_time_on_every_page_is_the_one_moment(support_client, emulator):
    emulator.create_action("VOUCHERS.IMPORT", duration=600)
    listed = support_client.get("/actions/")  # a page the 429 can fall back on
    live_url = soup(listed).select_one("#live-poller")["hx-get"]
    emulator.set_faults(force_429=True, retry_after=40)

    # Pages that each need a call of their own: the first meets the 429, the rest are held
    # back by the budget until the moment the 429 named.
    pages = {
        "older page meeting the 429": support_client.get(f"/actions/?end_date={OLDER[0]}"),
        "detail held back": support_client.get(f"/actions/{UNREAD}/"),
        "another older page held back": support_client.get(f"/actions/?end_date={OLDER[1]}"),
    }
    moments = {name: retry_moments(response) for name, response in pages.items()}
    # The newest page and its live poll may be answered from what was just read; if they
    # name a moment, it is the same one.
    moments["newest page"] = retry_moments(support_client.get("/actions/"), required=False)
    moments["live poll"] = retry_moments(support_client.get(live_url), required=False)
    assert len(set().union(*moments.values())) == 1, moments
    (moment,) = moments["detail held back"]
    assert emulator.stats()["total"] == 2  # the first read and the one 429: nothing since

    left = (datetime.fromisoformat(moment.replace("Z", "+00:00")) - datetime.now(UTC))
    for name in ("older page meeting the 429", "detail held back",
                 "another older page held back"):
        assert pages[name].status_code == 503
        assert abs(int(pages[name]["Retry-After"]) - left.total_seconds()) <= 2
    for name, response in pages.items():
        words = text_of(soup(response).select_one(".upstream-problem"))
        assert "next call in about" not in words, name  # no second countdown in the details


def test_the_last_read_age_is_a_moment_that_keeps_counting(support_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2  # the newest page is fresh for this long
    emulator.create_action("VOUCHERS.IMPORT", duration=600)
    support_client.get("/actions/")
    time.sleep(0.5)
    emulator.set_faults(force_429=True, retry_after=40)
    stale = soup(support_client.get("/actions/")).select_one(".upstream-problem.stale")
    read_at = stale.select_one("time.read-at[data-relative]")
    assert read_at is not None and read_at.get_text().endswith(" ago")
    assert datetime.fromisoformat(read_at["datetime"].replace("Z", "+00:00")) <= datetime.now(UTC)


@pytest.mark.parametrize("apart_ms", [0.001, 0.4, 1, 999])
def test_a_429_names_the_moment_the_budget_noted_for_it_even_a_millisecond_apart(
    emulator, monkeypatch, apart_ms
):
    """A 429's moment is read once, as its answer arrives: the budget notes the very moment
    the error names, however far the wall clock has moved on (the clock read apart_ms later
    for the error, as it once was, named a moment the budget did not hold by)."""
    monkeypatch.setattr(store, "now", lambda: time.time() - apart_ms / 1000)
    emulator.set_faults(force_429=True, retry_after=40)
    with pytest.raises(errors.RateLimitedError) as caught:
        get_client().get_action(UNREAD)
    met = caught.value
    noted = budget.blocked_until()
    assert met.retry_at == datetime.fromtimestamp(noted, UTC)
    assert problems.next_try(met) == datetime.fromtimestamp(noted, UTC)
    # The budget's own refusal keeps its later moment (its window slides later than the 429).
    later = errors.BudgetExhaustedError(
        retry_at=datetime.fromtimestamp(noted + apart_ms / 1000, UTC))
    assert problems.next_try(later) == later.retry_at
