"""Relative times keep counting while a page stays open."""

import re
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.browser


def test_relative_times_count_on_without_a_reload(emulator, live_server, page, browser_login):
    page.clock.install(time=datetime.now(UTC))
    browser_login("operator")
    page.goto(live_server.url + "/actions/?context=ORDERS")
    first = page.locator("time[data-relative]").first
    before = first.inner_text()
    page.clock.fast_forward("48:00:00")  # two days later, same page
    after = first.inner_text()
    assert after != before
    assert re.fullmatch(r"\d+ d ago", after)
