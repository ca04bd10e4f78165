"""In Chromium, the list answers the first question without a click: what failed, partly."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_an_import_finishing_with_failed_rows_shows_them_without_a_reload(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1000
    browser_login("support")
    created = emulator.create_action(
        "VOUCHERS.IMPORT", outcome="DONE", duration=4,
        result={"message": "1 imported, 299 failed.", "done_count": 1, "failed_count": 299},
    )
    page.goto(f"{live_server.url}/actions/?context=VOUCHERS&limit=10")
    row = page.locator(f"#row-{created['id']}")
    expect(row).to_have_attribute("data-status", re.compile("ENQUEUED|IN_PROGRESS"))
    page.evaluate("window.loadedOnce = true")  # gone if the page reloaded

    status = row.locator(".status")
    expect(status).to_have_text("Done · 299 failed", timeout=30_000)
    expect(status).to_have_class("status status-DONE-failures")
    assert page.evaluate("window.loadedOnce") is True

    page.select_option("#filter-status", "DONE_WITH_FAILURES")
    page.click("form.filters button[type=submit]")
    rows = page.locator("tbody tr[id^=row-]")
    expect(rows.first).to_be_visible()
    assert created["id"] in rows.evaluate_all("rows => rows.map(row => row.id)")[0]
    for text in rows.locator(".status").all_inner_texts():
        assert text.startswith("Done ·") and text.endswith("failed")


@pytest.mark.browser
def test_a_new_action_appears_on_an_open_list(emulator, live_server, page, browser_login,
                                              settings):
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.ACTIONS_DETAILS_PER_POLL = 0
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/?limit=100")
    page.mouse.wheel(0, 2000)  # reading lower down: the list waits for a click
    page.wait_for_function("window.scrollY > 100")
    first = emulator.create_action("ORDERS.IMPORT", duration=60)
    show = page.locator("#new-actions a")
    expect(show).to_have_text("1 new action · show", timeout=15_000)
    expect(page.locator(f"#row-{first['id']}")).to_have_count(0)
    show.click()
    expect(page.locator(f"#row-{first['id']}")).to_have_count(1)

    page.evaluate("window.scrollTo(0, 0)")  # at the top of the newest page: shown at once
    second = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    expect(page.locator(f"#row-{second['id']}")).to_have_count(1, timeout=15_000)
