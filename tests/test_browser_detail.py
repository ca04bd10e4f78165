"""In Chromium: the panel follows a live action to DONE without a reload, then goes quiet;
paging failed rows by keyboard keeps the focus in the pager."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import settled
from tests.helpers.upstream import finish_action, live_action

pytestmark = pytest.mark.browser

DETAIL_ENDPOINT = "/v1/async-actions/{id}"
RESULT = {"message": "2 voucher(s) imported successfully, 1 failed.", "done_count": 2,
          "failed_count": 1, "failed": [{"code": "X-1", "row": 3, "reason": "Duplicated code"}]}


@pytest.mark.browser
def test_panel_reaches_done_live_and_then_sends_nothing_more(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    browser_login("support")
    # Running until the panel has shown it running: a timed action could finish first.
    action_id = live_action(emulator, status="IN_PROGRESS")
    panel_path = f"/actions/{action_id}/"
    polls: list[str] = []
    answers: list[int] = []
    page.on("request", lambda request: polls.append(request.url)
            if panel_path in request.url and request.headers.get("hx-request") else None)
    page.on("response", lambda response: answers.append(response.status)
            if panel_path in response.url and response.request.headers.get("hx-request") else None)

    page.goto(live_server.url + panel_path)
    trigger = page.locator("#action-panel").get_attribute("hx-trigger")
    assert trigger.startswith("every 1s, poll-resume, load delay:")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloaded

    finish_action(emulator, action_id, result=RESULT)
    page.wait_for_selector("#action-panel .status-DONE", timeout=60_000)
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator(".result-message").inner_text().endswith(RESULT["message"])
    assert page.locator("table.failure-table tbody tr").count() == 1
    assert page.locator("#action-announcer").inner_text().startswith("Status: Done.")
    assert page.locator("#action-panel").get_attribute("hx-trigger") is None
    page.wait_for_load_state("networkidle")
    assert polls and answers[-1] == 286  # the terminal answer carried the final panel
    polls_at_done, answers_at_done = len(polls), len(answers)
    upstream_at_done = emulator.stats()["total"]

    page.wait_for_timeout(4_000)  # four poll intervals: long enough for any stray poll
    assert len(polls) == polls_at_done and len(answers) == answers_at_done
    assert emulator.stats()["total"] == upstream_at_done
    assert emulator.count(endpoint=DETAIL_ENDPOINT) >= 1


@pytest.mark.browser
def test_polling_pauses_while_the_tab_is_hidden(page, open_live_panel):
    panel_path = open_live_panel("support")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url)
            if panel_path in request.url and request.headers.get("hx-request") else None)
    with page.expect_request(lambda request: panel_path in request.url, timeout=15_000):
        pass  # polling runs while the tab is shown

    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    page.wait_for_timeout(1_500)  # let a poll already in flight land
    while_hidden = len(polls)
    page.wait_for_timeout(3_000)  # three intervals
    assert len(polls) == while_hidden

    with page.expect_request(lambda request: panel_path in request.url, timeout=15_000):
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
    assert page.locator("#action-panel .status").count() == 1


@pytest.mark.browser
def test_panel_polls_keep_the_failed_rows_filters_of_the_address_bar(page, open_live_panel):
    panel_path = open_live_panel("support")
    # What filtering the table does to the address bar (it pushes its URL).
    page.evaluate("history.replaceState(null, '', location.pathname + '?reason=Duplicated+code')")
    with page.expect_request(lambda request: panel_path in request.url
                             and request.headers.get("hx-request"), timeout=15_000) as poll:
        pass
    assert "reason=Duplicated+code" in poll.value.url
    assert "seen=" in poll.value.url



def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


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
