"""In Chromium, with the CSP enforced: pages load with no violation, and hostile data stays text.

The `page` fixture fails a test on any console error or CSP violation.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.hostile import IMPORT_ID, SCRIPT, UPDATE_ID


@pytest.fixture
def dialogs(page):
    """Any alert() that runs is recorded (and dismissed)."""
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


@pytest.mark.browser
def test_pages_load_under_the_csp_and_hostile_data_stays_text(
    emulator, hostile, live_server, page, browser_login, dialogs, settings
):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
    browser_login("auditor")
    expect(page).to_have_url(re.compile(r"/actions/$"))
    response = page.goto(f"{live_server.url}/actions/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    for path in (f"/actions/{IMPORT_ID}/", f"/actions/{UPDATE_ID}/", "/status/",
                 "/audit/exports/", "/accounts/password/"):
        assert page.goto(live_server.url + path).status == 200, path
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/actions/{IMPORT_ID}/")
    expect(page.locator("main")).to_contain_text(SCRIPT)
    assert page.locator("main img, main svg").count() == 0
    assert dialogs == []


@pytest.mark.browser
def test_the_browser_blocks_inline_script(live_server, page, browser_login):
    browser_login("operator")
    page.goto(f"{live_server.url}/accounts/password/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.appendChild(script);
    }""")
    assert page.evaluate("window.inlineRan === undefined")
    blocked = [problem for problem in page.problems if "Content Security Policy" in problem]
    assert blocked, page.problems
    page.problems.clear()  # the violation was the point of this test


@pytest.mark.browser
def test_an_expired_session_sends_a_polling_page_to_login(page, open_live_panel):
    detail = open_live_panel("operator")
    page.context.clear_cookies()  # as if the session had expired
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=" + re.escape(detail)),
                             timeout=15_000)
    # The one 401 that carried the redirect is expected; nothing else may have gone wrong.
    page.problems[:] = [p for p in page.problems if "401" not in p]
