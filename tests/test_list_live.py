"""Live rows: one poll refreshes every running row of the page, and stops when none remain;
while Voucherify fails, the list says so with the rows' age and clears it after."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers.html import oob_rows, poll_until_stopped, soup

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"


def poller(response):
    return soup(response).select_one("#live-poller")


def test_running_rows_get_a_progress_bar_and_one_poller(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 3
    created = [emulator.create_action("VOUCHERS.IMPORT", duration=60) for _ in range(3)]
    response = operator_client.get("/actions/")
    for action in created:
        row = soup(response).select_one(f"#row-{action['id']}")
        assert row["data-status"] in ("ENQUEUED", "IN_PROGRESS")
        assert "live" in row["class"]
    element = poller(response)
    assert element.has_attr("data-poll")
    assert element["hx-trigger"].startswith("every 3s, poll-resume, load delay:")
    query = parse_qs(urlsplit(element["hx-get"]).query)
    ids = query["ids"][0].split(",")
    assert query["seen"] == [",".join(["ENQUEUED"] * len(ids))]
    assert sorted(ids) == sorted(a["id"] for a in created)
    assert len(soup(response).select("[hx-get]")) == 1  # one poll for the page, not one per row


def test_one_poll_refreshes_all_live_rows_with_one_upstream_call(
    operator_client, emulator, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    settings.ACTIONS_DETAILS_PER_POLL = 0  # live rows only (results: test_list_failures.py)
    created = [emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60) for _ in range(3)]
    page = operator_client.get("/actions/")
    time.sleep(0.4)  # past the shared newest page's freshness
    emulator.clear_stats()
    response = operator_client.get(poller(page)["hx-get"])
    assert response.status_code == 200
    assert emulator.count(endpoint=LIST) == 1
    assert emulator.count(endpoint=DETAIL) == 0
    rows = oob_rows(response)
    assert sorted(tr["id"] for tr in rows) == sorted(f"row-{a['id']}" for a in created)
    assert poller(response)["hx-get"] == poller(page)["hx-get"]


def test_polling_stops_with_286_when_the_last_live_row_is_done(
    operator_client, emulator, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    action = emulator.create_action("VOUCHERS.BULK_UPDATE", outcome="DONE", duration=0.5)
    page = operator_client.get("/actions/")
    response = poll_until_stopped(operator_client, poller(page)["hx-get"], tries=30)
    assert response.status_code == 286
    (row,) = [tr for tr in oob_rows(response) if tr["id"] == f"row-{action['id']}"]
    assert row["data-status"] == "DONE"
    assert "Done" in row.get_text()
    assert not poller(response).has_attr("hx-trigger")
    announcer = soup(response).select_one("#live-announcer[hx-swap-oob]")
    assert f"{action['id']} is now Done" in announcer.get_text()


def test_a_page_without_live_rows_does_not_poll(operator_client, emulator, settings):
    settings.ACTIONS_DETAILS_PER_POLL = 0  # no results to read either (test_list_failures.py)
    response = operator_client.get("/actions/")
    assert not poller(response).has_attr("hx-get")
    assert soup(response).select_one("#live-announcer[aria-live=polite]")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "ids=",
        "ids=aa_1,../../etc",
        "ids=%3Cscript%3E",
        "ids=" + ",".join(f"aa_{n:04x}" for n in range(101)),
    ],
)
def test_bad_live_ids_are_refused_without_an_upstream_call(operator_client, emulator, query):
    response = operator_client.get("/actions/live/?" + query)
    assert response.status_code == 400
    assert response.content
    assert emulator.count() == 0


def test_live_rows_need_the_view_permission(client_for, emulator):
    response = client_for(None).get("/actions/live/?ids=aa_01")
    assert response.status_code == 403
    assert emulator.count() == 0


def test_the_list_needs_the_view_permission(client_for, emulator):
    assert client_for(None).get("/actions/").status_code == 403
    assert emulator.count() == 0


def test_live_poll_keeps_polling_for_rows_nothing_is_known_of(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    emulator.set_faults(drop_connection=True)
    response = operator_client.get("/actions/live/?ids=aa_0123456789abcdef")
    assert response.status_code == 200
    assert poller(response).has_attr("hx-trigger")
    assert oob_rows(response) == []


def test_a_row_starting_to_run_is_announced_once(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    action = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=20)  # ENQUEUED for ~2 s
    url = poller(operator_client.get("/actions/"))["hx-get"]
    assert parse_qs(urlsplit(url).query)["seen"] == ["ENQUEUED"]
    for _ in range(60):
        time.sleep(0.2)
        response = operator_client.get(url)
        next_url = poller(response)["hx-get"]
        if parse_qs(urlsplit(next_url).query)["seen"] == ["IN_PROGRESS"]:
            break
    announcer = soup(response).select_one("#live-announcer[hx-swap-oob]")
    assert f"{action['id']} is now In progress" in announcer.get_text()
    # The next poll carries what the page now shows: nothing new to announce.
    again = operator_client.get(next_url)
    assert again.status_code == 200
    assert soup(again).select_one("#live-announcer[hx-swap-oob]") is None


def test_an_unreadable_seen_list_only_costs_the_announcements(operator_client, emulator):
    action = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    response = operator_client.get(f"/actions/live/?ids={action['id']}&seen=<b>,junk,,")
    assert response.status_code == 200
    assert soup(response).select_one("#live-announcer[hx-swap-oob]") is None


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
