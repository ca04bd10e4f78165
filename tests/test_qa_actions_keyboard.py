"""In Chromium, by keyboard: paging failed rows keeps the focus in the pager."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def settled(page) -> None:
    """htmx wires up swapped-in links when the swap settles; a faster Enter follows the href."""
    # Polled from here: wait_for_function's string predicates need eval, which the CSP forbids.
    for _ in range(250):
        if not page.evaluate("!!document.querySelector('.htmx-request, .htmx-settling')"):
            return
        page.wait_for_timeout(20)
    raise AssertionError("htmx never settled")


def test_paging_failed_rows_by_keyboard_keeps_the_focus_in_the_pager(
    emulator, live_server, page, browser_login
):
    failed = [{"code": f"C{i}", "row": i + 2, "reason": "unit must be a number"}
              for i in range(120)]  # three pages of 50
    action = emulator.create_action(
        "VOUCHERS.IMPORT_CSV", duration=0.1,
        result={"done_count": 0, "failed_count": 120, "failed": failed},
    )
    browser_login("support")
    page.goto(f"{live_server.url}/actions/{action['id']}/")
    # The list seen at login may still show it running: wait for the final panel.
    expect(page.locator("#action-panel[data-poll]")).to_have_count(0, timeout=30_000)
    settled(page)
    page.focus("#failures-next")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"rows_page=2"))
    expect(page.locator(".failures .pager span:not([id])")).to_have_text("Page 2 of 3")
    assert focused_id(page) == "failures-next"  # once the focus fell back to <body>
    settled(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"rows_page=3$"))  # by htmx: no #failures
    expect(page.locator(".failures .pager span:not([id])")).to_have_text("Page 3 of 3")
    assert focused_id(page) == "failures-next"  # the stand-in at the end of the pages
    page.keyboard.press("Shift+Tab")
    assert focused_id(page) == "failures-previous"
