"""In Chromium: tables stay readable on laptops and phones (no column squeezed to a letter)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LONG_REASON = "x" * 400


def column_widths(page, table: str) -> dict[str, float]:
    return page.locator(f"{table} thead th").evaluate_all(
        "ths => Object.fromEntries(ths.map(th => [th.innerText.trim(), "
        "th.getBoundingClientRect().width]))"
    )


@pytest.mark.parametrize("width", [1024, 390])
def test_the_type_column_keeps_room_at_narrow_widths(
    width, emulator, live_server, page, browser_login
):
    emulator.create_action("CUSTOMERS.METADATA_UPDATE", duration=0.1)
    page.set_viewport_size({"width": width, "height": 800})
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/")
    widths = column_widths(page, ".actions-table")
    # The fixed columns once summed past the table's min-width, leaving Type ~0 px wide.
    assert widths["Type"] >= 12 * 16
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_short_failure_cells_are_not_squeezed_by_a_long_reason(
    width, emulator, live_server, page, browser_login
):
    failed = [{"code": f"CODE-{i}", "source_id": f"src_{i}", "row": i + 2,
               "reason": LONG_REASON if i % 2 else "unit must be a number"} for i in range(20)]
    action = emulator.create_action(
        "VOUCHERS.IMPORT_CSV", duration=0.1,
        result={"done_count": 1, "failed_count": 20, "failed": failed},
    )
    page.set_viewport_size({"width": width, "height": 800})
    browser_login("support")
    page.goto(f"{live_server.url}/actions/{action['id']}/")
    widths = column_widths(page, ".failure-table")
    assert min(widths["Code"], widths["Source id"], widths["Row"]) >= 4 * 16
    code = page.locator(".failure-table tbody tr").first.locator("td").first
    line_height = float(code.evaluate("td => parseFloat(getComputedStyle(td).lineHeight)"))
    assert code.evaluate("td => td.getBoundingClientRect().height") < 2.5 * line_height + 16
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_long_upstream_words_wrap_instead_of_widening_the_detail_page(
    emulator, live_server, page, browser_login
):
    word = "y" * 300
    action = emulator.create_action(
        "ZZZ_" + "Q" * 60 + ".SOMETHING_NEW", outcome="FAILED", duration=0.1,
        result={"message": word, "done_count": 1, "failed_count": 2,
                "failed": [{"code": word, "row": 1, "reason": "R" + word}],
                "errors": [{"message": "E" + word, "key": word}],
                "reports": ["ftp://" + word], "weird_" + word: 1},
        user={"email": word}, log_id=word,
    )
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login("support")
    page.goto(f"{live_server.url}/actions/{action['id']}/")
    # A reason in the groups list or the type in the heading used to push the page to ~4000 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
