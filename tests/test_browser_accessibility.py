"""axe-core (bundled by axe-playwright-python: nothing is downloaded) on every kind of page, at
desktop and phone widths, in light and dark: no serious or critical violation."""

from __future__ import annotations

import pytest

from tests.helpers.axe import violations
from tests.helpers.html import store_items

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", VIEWPORTS)
def test_pages_have_no_serious_accessibility_violation(
    emulator, emulator_server, live_server, page, browser_login, settings, width, scheme
):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
    page.set_viewport_size(VIEWPORTS[width])
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live_server.url}/accounts/login/")
    found = {"login": violations(page)}
    browser_login("auditor")
    done = next(item for item in store_items(emulator_server) if item["status"] == "DONE")
    for name, path in {
        "list": "/actions/",
        "detail": f"/actions/{done['id']}/",
        "overview": "/overview/",
        "purge audit": "/audit/purges/",
        "export log": "/audit/exports/?scope=filtered&filter=reason",
    }.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        found[name] = violations(page)
    assert not any(found.values()), "\n".join(
        f"{name}: {problem}" for name, problems in found.items() for problem in problems
    )
