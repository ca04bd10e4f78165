"""In Chromium: a filter over history nobody read yet names the missing dates; support starts
reading them from the list, watches the progress, and the page becomes complete by itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.history import backfill
from tests.helpers.upstream import fresh_layer, upstream_history

WAIT = 90_000  # ms: a bound for a loaded machine, not a measure of speed


@pytest.mark.browser
def test_an_uncovered_filter_is_read_from_the_list_and_becomes_complete(
    emulator, live_server, page, browser_login, settings
):
    fresh_layer(emulator, settings, calls_per_minute=100_000, reserve=0)
    settings.ACTIONS_SCAN_BUDGET = 1
    browser_login("support")
    page.goto(f"{live_server.url}/actions/?status=FAILED&limit=100")
    notice = page.locator(".scan-notice")
    expect(notice).to_contain_text("These results are partial")
    expect(notice).to_contain_text("have not all been read yet")
    expect(notice).not_to_contain_text("scanned")

    page.click("form.history-sync-start button[type=submit]")
    expect(page).to_have_url(re.compile(r"/actions/\?status=FAILED&limit=100#history-sync$"))
    # The progress panel polls, then the finished run reloads the page: complete now.
    truth = sum(1 for item in upstream_history(emulator) if item["status"] == "FAILED")
    complete = page.locator(".scan-notice.complete")
    expect(complete).to_contain_text(f"Complete: all {truth} matching actions are listed here",
                                      timeout=WAIT)
    expect(page.locator("form.history-sync-start")).to_have_count(0)
    assert page.locator("tbody tr[id^=row-]").count() == truth
    assert backfill.wait_idle()
