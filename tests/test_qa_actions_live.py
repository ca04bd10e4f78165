"""Live rows while Voucherify fails: the list says so, with the rows' age, and clears it after."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.list_html import soup


def live_problem(response):
    """The out-of-band notice a live poll swaps in (empty when the rows were refreshed)."""
    found = soup(response).select_one("#live-problem[hx-swap-oob]")
    assert found is not None, "every live poll answers the notice, to clear it once fine"
    return found


def test_a_failing_live_poll_marks_the_rows_stale_and_clears_once_it_recovers(
    operator_client, emulator, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    emulator.create_action("VOUCHERS.IMPORT", duration=60)
    page = operator_client.get("/actions/")
    assert soup(page).select_one("#live-problem") is not None  # the target exists on the page
    url = soup(page).select_one("#live-poller")["hx-get"]

    time.sleep(0.4)  # past the newest page's freshness: the poll must ask Voucherify
    emulator.set_faults(drop_connection=True)
    failing = operator_client.get(url)
    assert failing.status_code == 200
    notice = " ".join(live_problem(failing).get_text().split())
    assert "Showing data last read" in notice and "ago" in notice
    assert "could not be reached" in notice

    emulator.clear_faults()
    time.sleep(0.4)
    recovered = operator_client.get(url)
    assert live_problem(recovered).get_text().strip() == ""


def counts_shown(page) -> dict[str, int]:
    return page.locator(".action-group .status-counts li").evaluate_all(
        "items => Object.fromEntries(items.map(li => "
        "[li.dataset.status, Number(li.querySelector('.count').textContent)]))"
    )


def counts_of_rows(page) -> dict[str, int]:
    statuses = page.locator(".action-group tbody tr[data-status]").evaluate_all(
        "rows => rows.map(row => row.dataset.status)"
    )
    return {status: statuses.count(status) for status in set(statuses)}


@pytest.mark.browser
def test_group_counts_follow_a_live_row_to_its_end(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    created = emulator.create_action("ORDERS.IMPORT", outcome="FAILED", duration=3)
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/?context=ORDERS")
    assert counts_shown(page) == counts_of_rows(page)
    expect(page.locator(f"#row-{created['id']}")).to_have_attribute(
        "data-status", "FAILED", timeout=30_000
    )
    page.wait_for_timeout(300)  # the recount runs once the swap has settled
    shown = counts_shown(page)
    assert shown == counts_of_rows(page)  # once "In progress 1" stayed beside a Failed row
    assert "IN_PROGRESS" not in shown and "ENQUEUED" not in shown
    assert page.locator(".status-counts li[data-status=FAILED] .status").first.inner_text() == (
        "Failed"
    )
