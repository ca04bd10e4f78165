"""The group counts follow live rows through the server: each poll answers them out of band."""

from __future__ import annotations

from collections import Counter

import pytest

from dashboard.actions import live_counts
from tests.helpers.html import poll_until_stopped, soup


def counts_in(node) -> dict[str, int]:
    return {li["data-status"]: int(li.select_one(".count").get_text()) for li in node.select("li")}


def row_statuses(response, context: str) -> Counter:
    group = soup(response).select_one(f"#status-counts-{context}").find_parent("section")
    return Counter(tr["data-status"] for tr in group.select("tbody tr[data-status]"))


def test_a_poll_answers_the_groups_counts_once_a_row_finishes(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    # The budget is not under test here. At 40 a minute this lone person may spend 30 calls
    # in the window, the page load's included; the page's 18 finished rows take 3 result
    # reads a poll besides each poll's refresh (no pace in the test settings: one share), so
    # polls quicker than the 3 s action spent them all before it finished, and its end was
    # not read for a minute (one run in a few dozen).
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
    action = emulator.create_action("ORDERS.IMPORT", outcome="FAILED", duration=3)
    page = operator_client.get("/actions/?context=ORDERS")
    shown = soup(page).select_one("#status-counts-ORDERS")
    assert counts_in(shown) == row_statuses(page, "ORDERS")  # the page and the poll: one partial
    response = poll_until_stopped(operator_client, soup(page).select_one("#live-poller")["hx-get"])
    assert response.status_code == 286
    expected = row_statuses(page, "ORDERS")
    before = soup(page).select_one(f"#row-{action['id']}")["data-status"]
    expected[before] -= 1
    expected["FAILED"] += 1
    swapped = soup(response).select_one("#status-counts-ORDERS[hx-swap-oob]")
    assert counts_in(swapped) == +expected
    assert list(counts_in(swapped)) == [s for s in ("ENQUEUED", "IN_PROGRESS", "DONE", "FAILED")
                                        if expected[s]]  # lifecycle order
    assert "Failed" in swapped.select_one("li[data-status=FAILED] .status").get_text()


def test_a_poll_without_the_settled_counts_leaves_the_counts_alone(operator_client, emulator):
    action = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    response = operator_client.get(f"/actions/live/?ids={action['id']}&seen=ENQUEUED")
    assert response.status_code == 200
    assert soup(response).select(".status-counts") == []
    assert soup(response).select_one("#live-poller")["hx-get"]


@pytest.mark.parametrize("raw", ["VOUCHERS:DONE", "NOPE:DONE:1", "VOUCHERS:DONE:x", "a:b:c:d"])
def test_unreadable_settled_counts_are_none(raw):
    assert live_counts.parse_settled(raw) is None


def test_settled_counts_read_back_what_they_wrote():
    settled = Counter({("VOUCHERS", "DONE"): 3, ("ORDERS", "FAILED"): 1, ("OTHER", "WEIRD"): 2})
    assert live_counts.parse_settled(live_counts.settled_param(settled)) == settled
    assert live_counts.parse_settled("") == Counter()
