"""In Chromium: filtering the failed rows to one reason marks its group, says the reason once,
and "Download these N" saves exactly those rows; e-mail ids stay on one line."""

from __future__ import annotations

import csv
import random
from collections import Counter

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from dashboard.accounts.models import ExportRecord
from tests.helpers.browser import settled

pytestmark = pytest.mark.browser

REASONS = ("Duplicated voucher code", "Customer not found: check the e-mail address",
           "unit: must be a number")


def generated_failed(seed: int = 17, count: int = 299) -> list[dict]:
    rng = random.Random(seed)
    return [{"source_id": f"{''.join(rng.choices('abcdefgh.', k=rng.randint(4, 20)))}"
                          f"@example-{n}.com",
             "row": n + 1, "reason": rng.choices(REASONS, weights=(5, 3, 2))[0]}
            for n in range(count)]


def test_filter_to_one_reason_then_export_these_rows(emulator, live_server, page, browser_login,
                                                     tmp_path):
    failed = generated_failed()
    reason, count = Counter(row["reason"] for row in failed).most_common(2)[1]
    action = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=0.1, result={
        "done_count": 1000, "failed_count": len(failed), "failed": failed})
    browser_login("support")
    page.goto(f"{live_server.url}/actions/{action['id']}/")
    expect(page.locator("#action-panel[data-poll]")).to_have_count(0, timeout=30_000)
    settled(page)
    expect(page.locator(".reason-groups a[aria-current]")).to_have_count(0)
    expect(page.locator("a.csv-these")).to_have_count(0)

    group = page.locator(".reason-groups a", has_text=reason)
    group.click()
    expect(group).to_have_attribute("aria-current", "true")
    settled(page)
    group = page.locator(".reason-groups a", has_text=reason)
    # Marked so a sighted person sees it too: bold, with a bar beside it.
    assert group.evaluate("a => getComputedStyle(a).fontWeight") == "700"
    assert group.evaluate("a => getComputedStyle(a).borderLeftWidth") == "4px"
    other = page.locator(".reason-groups a:not([aria-current])").first
    assert other.evaluate("a => getComputedStyle(a).borderLeftWidth") == "0px"
    expect(page.locator("#failures-reason-heading")).to_have_text(f"{count} rows failed: {reason}")
    expect(page.locator(".failure-table thead th")).to_have_text(["Source id", "Row"])
    cell = page.locator(".failure-table td.cell-id").first
    assert cell.evaluate("td => getComputedStyle(td).whiteSpace") == "nowrap"

    problems = Axe().run(page).response["violations"]
    assert not [rule["id"] for rule in problems if rule.get("impact") in ("serious", "critical")]

    expect(page.locator("a.csv-all")).to_have_text(f"Download all {len(failed)} as CSV")
    with page.expect_download() as download:
        page.locator("a.csv-these").filter(has_text=f"Download these {count} as CSV").click()
    saved = tmp_path / "these.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    assert header == ["Source id", "Row", "Reason"]
    assert lines == [[row["source_id"], str(row["row"]), row["reason"]]
                     for row in failed if row["reason"] == reason]
    record = ExportRecord.objects.latest("id")
    assert (record.rows, record.filters) == (count, {"reason": reason})
