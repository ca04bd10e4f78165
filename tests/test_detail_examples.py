"""Every documented 200 example of GET /v1/async-actions/{id}, served by the emulator, renders."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from dashboard.formatting import duration_ms
from dashboard.voucherify import catalog
from tests.helpers.html import text_of
from tests.helpers.repo import ROOT

OPENAPI = (ROOT / "dashboard" / "emulator" / "openapi"
           / "async-actions.openapi.json")
DETAIL_PATH = "/v1/async-actions/{asyncActionId}"
DETAIL_ENDPOINT = "/v1/async-actions/{id}"  # as the emulator names it in its stats


def documented_examples() -> dict[str, dict]:
    document = json.loads(OPENAPI.read_text())
    operation = document["paths"][DETAIL_PATH]["get"]
    examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in examples.items()}


EXAMPLES = documented_examples()


def test_the_document_holds_22_examples():
    assert len(EXAMPLES) == 22


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_documented_example_renders_its_key_facts(name, emulator, support_client):
    example = EXAMPLES[name]
    emulator.insert_action(example)
    response = support_client.get(f"/actions/{example['id']}/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    panel = soup.find(id="action-panel")
    page_text = text_of(panel)
    result = example["result"]

    if result.get("message"):
        assert result["message"] in text_of(panel.select_one(".result-message"))
    assert text_of(panel.select_one(".count-done")) == str(result["done_count"])
    if "failed_count" in result:
        assert text_of(panel.select_one(".count-failed")) == str(result["failed_count"])
    assert example["request_id"] in text_of(panel.select_one(".request-id"))
    assert text_of(panel.select_one(".operation-status")) == example.get("operation_status", "—")
    processing = panel.select_one(".processing-time")
    assert processing["data-ms"] == str(example["processing_time"])
    assert text_of(processing).startswith(duration_ms(example["processing_time"]))
    assert text_of(panel.select_one(".endpoint")) == catalog.endpoint_of(example["type"])
    assert "Done" in text_of(panel.select_one(".status"))

    failed = result.get("failed") or []
    table = panel.select_one("table.failure-table")
    if failed:
        assert len(table.select("tbody tr")) == len(failed)
        headers = [text_of(th) for th in table.select("thead th")]
        present = [key for key in ("code", "source_id", "row", "reason")
                   if any(key in row for row in failed)]
        assert len(headers) == len(present)
        for row in failed:
            assert row["reason"] in page_text
        reasons = {row["reason"] for row in failed}
        groups = [text_of(li) for li in panel.select(".reason-groups li")]
        assert len(groups) == len(reasons)
        if len(reasons) == 1:
            noun = "row" if len(failed) == 1 else "rows"
            assert groups[0] == f"{len(failed)} {noun} failed: {failed[0]['reason']}"
        assert panel.select_one("a.csv-link")["href"] == f"/actions/{example['id']}/failures.csv"
    else:
        assert table is None
        assert panel.select_one("a.csv-link") is None

    if "reports" in result:
        reports = panel.select_one(".reports")
        # The documents hold a placeholder, not an https link: shown as text, never as a link.
        assert text_of(reports.select_one(".report-text")) == result["reports"][0]
        assert reports.select("a") == []
        # 2024-11-06 is past: the links are marked expired.
        assert "Expired" in text_of(reports.select_one(".reports-expired"))
    else:
        assert panel.select_one(".reports") is None

    raw = panel.select_one("details.raw-json")
    assert text_of(raw.summary) == "Raw JSON"
    assert json.loads(raw.pre.get_text()) == example
    # Finished: the panel does not poll.
    assert not panel.has_attr("hx-trigger")
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1
