"""In Chromium: filter, page Older and Newer, and watch a live row reach DONE without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.upstream import finish_action, live_action

ROWS = "tbody tr[id^=row-]"


def row_ids(page) -> list[str]:
    return page.locator(ROWS).evaluate_all("rows => rows.map(row => row.id)")


@pytest.mark.browser
def test_filter_by_context_and_status_then_page_older_and_newer(
    emulator, live_server, page, browser_login, settings
):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/")
    page.select_option("#filter-context", "VOUCHERS")
    page.select_option("#filter-status", "DONE")
    page.select_option("#filter-limit", "10")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"/actions/\?context=VOUCHERS&status=DONE&limit=10$"))
    expect(page.locator(".context-tabs a[aria-current=page]")).to_have_text("Vouchers")
    first = row_ids(page)
    assert len(first) == 10
    assert page.locator(f"{ROWS}:not([data-status=DONE])").count() == 0
    assert page.locator(".action-group").count() == 1

    page.click(".pager-top a.pager-older")
    expect(page).to_have_url(re.compile(r"end_date="))
    second = row_ids(page)
    assert second and not set(second) & set(first)
    assert page.locator(f"{ROWS}:not([data-status=DONE])").count() == 0

    page.click(".pager-top a.pager-newer")
    expect(page).to_have_url(re.compile(r"/actions/\?context=VOUCHERS&status=DONE&limit=10$"))
    assert row_ids(page) == first


@pytest.mark.browser
def test_a_live_row_reaches_done_without_a_reload(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.ACTIONS_DETAILS_PER_POLL = 0  # live rows only (results: test_browser_triage.py)
    # Running until the page has shown it running (a timed action could finish before a slow
    # machine has logged in), then done. No failed rows: those would show as
    # "Done · N failed" (test_browser_triage.py).
    action_id = live_action(emulator, status="IN_PROGRESS")
    browser_login("operator")  # lands on the list, which now shows the new action
    page.goto(f"{live_server.url}/actions/")
    row = page.locator(f"#row-{action_id}")
    expect(row).to_have_attribute("data-status", re.compile("ENQUEUED|IN_PROGRESS"))
    expect(row.locator("progress")).to_have_count(1)
    page.evaluate("window.loadedOnce = true")  # gone if the page reloaded

    finish_action(emulator, action_id, result={"done_count": 10, "failed_count": 0})
    expect(row).to_have_attribute("data-status", "DONE", timeout=60_000)
    expect(row.locator(".status")).to_have_text("Done")
    expect(row.locator("progress")).to_have_count(0)
    expect(page.locator("#live-announcer")).to_contain_text(f"{action_id} is now Done")
    assert page.evaluate("window.loadedOnce") is True
    expect(page.locator("#live-poller")).not_to_have_attribute("hx-trigger", re.compile("."))


@pytest.mark.browser
def test_the_list_fits_a_phone_and_scrolls_its_table_inside(
    emulator, live_server, page, browser_login
):
    browser_login("operator")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/actions/")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 375
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    # Keyboard: the scrolling region takes focus (arrow keys scroll it), then its links.
    wrap.focus()
    expect(wrap).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.table-wrap') !== null")
    assert page.evaluate("document.activeElement.tagName") == "A"
