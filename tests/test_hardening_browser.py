"""In Chromium: a detail page quoting a 1 MB single word loads (within Playwright's default
timeout; it once did not finish in 150 s), shows it cut, and reveals the whole on request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

WORD = "W" * (1 << 20)
ACTION = "aa_0c00000000000b1901"


@pytest.mark.browser
def test_a_megabyte_word_does_not_freeze_the_detail_page(emulator, live_server, page,
                                                         browser_login):
    browser_login("support")
    emulator.insert_action({
        "id": ACTION, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": datetime.now(UTC).isoformat(), "user": {"id": "user_1", "email": WORD},
        "result": {"message": WORD, "done_count": 0, "failed_count": 1,
                   "failed": [{"code": "bad", "row": 1, "reason": WORD}]},
    })
    page.goto(f"{live_server.url}/actions/{ACTION}/")  # the default timeout, 30 s
    message = page.locator(".result-message")
    assert len(message.locator(".clipped").inner_text()) < 400
    whole = message.locator("details.full-text")
    assert not whole.evaluate("element => element.open")
    whole.locator("summary").click()
    body = whole.locator(".full-text-body")
    assert body.evaluate("element => element.textContent.length") == len(WORD)
    # It scrolls inside its own box instead of stretching the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
