"""Every page fits a phone's width: only tables scroll sideways, inside their wrappers."""

import pytest

pytestmark = pytest.mark.browser

LONG_REASON = "acquisition_channel: must be equal to one of Facebook,Twitter,Website " * 3


@pytest.fixture
def failed_import(emulator):
    failed = [{"code": f"CODE{i}", "row": i + 1, "reason": LONG_REASON} for i in range(60)]
    return emulator.create_action(
        "VOUCHERS.IMPORT_CSV", duration=0.1,
        result={"done_count": 1, "failed_count": 60, "failed": failed},
    )


@pytest.mark.parametrize("path", [
    "/actions/", "/actions/{id}/", "/overview/", "/status/", "/audit/purges/", "/audit/exports/",
])
def test_pages_fit_a_phone(path, emulator, failed_import, live_server, page, browser_login):
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login("admin")
    page.goto(live_server.url + path.format(id=failed_import["id"]))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


PHONE = {"width": 390, "height": 844}
# Where a cell is on the screen, and whether it is rendered at all.
BOX = "el => { const r = el.getBoundingClientRect(); return [r.left, r.right, r.top, r.width]; }"


def visible_on_screen(locator, width: int = PHONE["width"]) -> bool:
    left, right, _, box_width = locator.evaluate(BOX)
    return box_width > 0 and left >= 0 and right <= width


@pytest.fixture
def synced_archive(emulator, settings):
    from tests.helpers.upstream import fresh_layer, run_sync

    fresh_layer(emulator, settings, calls_per_minute=100_000, reserve=0)
    run_sync()
    return emulator


def test_a_phone_keeps_status_and_created_in_view_with_the_filters_collapsed(
    emulator, failed_import, live_server, page, browser_login
):
    page.set_viewport_size(PHONE)
    browser_login("support")
    page.goto(f"{live_server.url}/actions/?status=DONE")
    page.wait_for_load_state("networkidle")
    disclosure = page.locator("details.filter-disclosure")
    assert disclosure.evaluate("el => el.open") is False
    assert disclosure.locator("summary").inner_text().strip() == "Filters (1 active)"
    assert not page.locator("form.filters").is_visible()
    first = page.locator(".actions-table tbody tr").first.locator('td[data-column="id"]')
    key = first.locator(".phone-key")
    assert key.locator(".key-status").inner_text().startswith("Done")
    assert key.locator(".key-time").inner_text().strip().endswith("ago")
    for part in (first, key.locator(".key-status"), key.locator(".key-time")):
        assert visible_on_screen(part)
    assert key.evaluate(BOX)[2] < PHONE["height"]  # on the first screen
    # The other columns scroll sideways under a shadow; the first one stays put.
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    assert "radial-gradient" in wrap.evaluate("el => getComputedStyle(el).backgroundImage")
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert visible_on_screen(key.locator(".key-status"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.keyboard.press("/")  # the search shortcut opens the filters
    assert page.locator("#filter-q").evaluate("el => el === document.activeElement")
    assert page.locator("form.filters").is_visible()


def test_a_desktop_shows_the_filters_open(emulator, live_server, page, browser_login):
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login("support")
    page.goto(f"{live_server.url}/actions/")
    page.wait_for_load_state("networkidle")
    assert page.locator("form.filters").is_visible()
    assert page.locator("details.filter-disclosure summary").inner_text().strip() == "Filters"


def test_the_purge_audit_shows_status_and_records_on_a_phone(
    synced_archive, live_server, page, browser_login
):
    page.set_viewport_size(PHONE)
    browser_login("auditor")
    page.goto(f"{live_server.url}/audit/purges/")
    row = page.locator(".purge-table tbody tr").first
    for column in ("object", "status", "records"):
        assert visible_on_screen(row.locator(f'td[data-column="{column}"]')), column
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_overview_chart_labels_are_readable_on_a_phone(
    synced_archive, live_server, page, browser_login
):
    page.set_viewport_size(PHONE)
    browser_login("operator")
    page.goto(f"{live_server.url}/overview/")
    heights = page.eval_on_selector_all(
        "svg.chart text.chart-label", "els => els.map(el => el.getBoundingClientRect().height)")
    sizes = page.eval_on_selector_all(
        "svg.chart text.chart-label",
        "els => els.map(el => parseFloat(getComputedStyle(el).fontSize)"
        " * el.getScreenCTM().a)")
    assert heights and sizes
    assert min(sizes) >= 11, f"chart text rendered at {min(sizes):.1f} px"
    assert min(heights) >= 11
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The chart scrolls inside its figure, which the keyboard can reach.
    assert page.locator("figure.chart-figure").first.get_attribute("tabindex") == "0"
    # A bar opens the list it counts.
    bar = page.locator("svg#chart-days rect[data-href]").first
    href = bar.get_attribute("data-href")
    bar.click()
    page.wait_for_url(f"**{href}")
    assert page.locator("h1").inner_text() == "Async actions"
