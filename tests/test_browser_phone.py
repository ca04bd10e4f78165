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
