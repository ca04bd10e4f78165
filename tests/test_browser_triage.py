"""In Chromium, the list answers the first question without a click: what failed, partly."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.upstream import finish_action, live_action


@pytest.fixture
def operator_list(settings, browser_login):
    """An operator's browser, polls every second, no results read (live rows only)."""
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.ACTIONS_DETAILS_PER_POLL = 0
    return browser_login("operator")


UNITS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}


def in_seconds(cell: str) -> float:
    """A processing-time cell ("≈ 5.4 s", "166 ms", "2 min 5 s") in seconds."""
    parts = re.findall(r"([0-9][0-9.,]*)\s*(ms|s|min|h|d)\b", cell)
    return sum(float(number.replace(",", "")) * UNITS[unit] for number, unit in parts)


@pytest.mark.browser
def test_an_import_finishing_with_failed_rows_shows_them_without_a_reload(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1000
    browser_login("support")
    # Running until the page has shown it running: a timed action could finish first.
    action_id = live_action(emulator, status="IN_PROGRESS")
    page.goto(f"{live_server.url}/actions/?context=VOUCHERS&limit=10")
    row = page.locator(f"#row-{action_id}")
    expect(row).to_have_attribute("data-status", re.compile("ENQUEUED|IN_PROGRESS"))
    page.evaluate("window.loadedOnce = true")  # gone if the page reloaded

    finish_action(emulator, action_id, result={
        "message": "1 imported, 299 failed.", "done_count": 1, "failed_count": 299})
    status = row.locator(".status")
    expect(status).to_have_text("Done · 299 failed", timeout=60_000)
    expect(status).to_have_class("status status-DONE-failures")
    assert page.evaluate("window.loadedOnce") is True

    page.select_option("#filter-status", "DONE_WITH_FAILURES")
    page.click("form.filters button[type=submit]")
    rows = page.locator("tbody tr[id^=row-]")
    expect(rows.first).to_be_visible()
    assert action_id in rows.evaluate_all("rows => rows.map(row => row.id)")[0]
    for text in rows.locator(".status").all_inner_texts():
        assert text.startswith("Done ·") and text.endswith("failed")


@pytest.mark.browser
def test_a_new_action_appears_on_an_open_list(emulator, live_server, operator_list):
    page = operator_list
    page.goto(f"{live_server.url}/actions/?limit=100")
    page.mouse.wheel(0, 2000)  # reading lower down: the list waits for a click
    page.wait_for_function("window.scrollY > 100")
    first = emulator.create_action("ORDERS.IMPORT", duration=60)
    show = page.locator("#new-actions a")
    expect(show).to_have_text("1 new action · show", timeout=60_000)
    expect(page.locator(f"#row-{first['id']}")).to_have_count(0)
    show.click()
    expect(page.locator(f"#row-{first['id']}")).to_have_count(1)

    page.evaluate("window.scrollTo(0, 0)")  # at the top of the newest page: shown at once
    second = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    expect(page.locator(f"#row-{second['id']}")).to_have_count(1, timeout=60_000)


@pytest.mark.browser
def test_timeline_sorting_short_id_search_and_copy(emulator, live_server, operator_list):
    page = operator_list
    page.goto(f"{live_server.url}/actions/?limit=50")
    page.click(".view-switch >> text=Timeline")
    expect(page).to_have_url(re.compile(r"view=timeline"))
    expect(page.locator("table.actions-table")).to_have_count(1)
    page.click("th >> text=Processing time")
    expect(page).to_have_url(re.compile(r"sort=processing_time"))
    cells = page.locator("tbody td:nth-child(6)").all_inner_texts()
    seconds = [in_seconds(cell) for cell in cells if re.search(r"[0-9]", cell)]
    assert len(seconds) > 10 and seconds == sorted(seconds)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=live_server.url)
    first = page.locator("tbody tr[id^=row-]").first
    action_id = first.get_attribute("id").removeprefix("row-")
    first.locator("button.copy").click()
    expect(first.locator("button.copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == action_id

    shown = first.locator("td code").first.inner_text()  # "…9d8a7c2c", as the list shows it
    page.fill("#filter-q", shown)
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/actions/{action_id}/")


@pytest.mark.browser
def test_keyboard_shortcuts_and_the_live_switch(emulator, live_server, operator_list):
    page = operator_list
    page.goto(f"{live_server.url}/actions/")
    page.keyboard.press("/")
    expect(page.locator("#filter-q")).to_be_focused()
    page.locator("h1").click()  # out of the field again
    rows = page.locator("tbody tr[id^=row-] td:first-child a")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()
    target = rows.nth(1).get_attribute("href")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    rows.nth(1).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + target)

    created = emulator.create_action("ORDERS.IMPORT", duration=60)
    page.goto(f"{live_server.url}/actions/")
    page.click("#live-toggle")
    expect(page.locator("#live-toggle")).to_have_text("Live updates: off")
    emulator.clear_stats()
    page.wait_for_timeout(3000)  # three poll intervals: no poll may go out while off
    assert emulator.count() == 0
    page.click("#live-toggle")
    expect(page.locator(f"#row-{created['id']}")).to_have_attribute(
        "data-status", "IN_PROGRESS", timeout=15_000)


@pytest.mark.browser
def test_exact_times_read_in_the_persons_time_zone_with_utc_on_hover(
    chromium, emulator, live_server, user_factory
):
    from tests.fixtures.users import ROLE_PASSWORD

    context = chromium.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    try:
        page = context.new_page()
        user = user_factory("operator", username="browser-tokyo")
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", ROLE_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/actions/?end_date=2001-02-03T04:05:06Z")
        moment = page.locator(".empty-page time")
        expect(moment).to_have_attribute("title", "2001-02-03 04:05:06 UTC")
        expect(moment).to_contain_text("13:05:06")  # 04:05 UTC is 13:05 in Tokyo
        expect(moment).to_contain_text("GMT+9")
    finally:
        context.close()
