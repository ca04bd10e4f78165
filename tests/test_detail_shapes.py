"""Results nobody documented still render: missing, text, lists, partial dicts, unknown keys."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from tests.helpers.html import text_of

ACTION_ID = "aa_0d0000000000000a01"


def action(status: str = "DONE", **fields) -> dict:
    body = {
        "id": ACTION_ID, "type": "VOUCHERS.IMPORT", "status": status,
        "created_at": "2024-05-01T10:00:00.000Z", "updated_at": "2024-05-01T10:00:02.000Z",
        "request_id": "v-0d00000000000000aa", "progress": 100, "processing_time": 2000,
        "object": "async_action",
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


def panel_of(client, emulator, body: dict):
    emulator.insert_action(body)
    response = client.get(f"/actions/{body['id']}/")
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser").find(id="action-panel")


def test_missing_result_says_so(emulator, support_client):
    panel = panel_of(support_client, emulator, action())
    assert "Voucherify sent no result" in text_of(panel.select_one(".shape-note"))
    assert panel.select_one(".counts") is None
    assert panel.select_one(".failures") is None


def test_plain_text_result_is_the_message(emulator, support_client):
    panel = panel_of(support_client, emulator, action(result="Imported 5 vouchers, 1 skipped."))
    assert "Imported 5 vouchers, 1 skipped." in text_of(panel.select_one(".result-message"))
    assert "plain text" in text_of(panel.select_one(".shape-note"))


def test_list_result_shows_its_entries_as_failures(emulator, support_client):
    body = action(result=[{"code": "A1", "reason": "broken"}, {"code": "A2", "reason": "broken"}])
    panel = panel_of(support_client, emulator, body)
    assert len(panel.select("table.failure-table tbody tr")) == 2
    assert text_of(panel.select_one(".reason-groups li")) == "2 rows failed: broken"
    assert "as a list" in text_of(panel.select_one(".shape-note"))


@pytest.mark.parametrize(
    ("result", "done", "failed", "share"),
    [
        ({"done_count": 7}, "7", "—", None),
        ({"failed_count": 4}, "—", "4", None),
        ({"done_count": 3, "failed_count": 1}, "3", "1", "75%"),
        ({"done_count": 0, "failed_count": 0}, "0", "0", None),
    ],
)
def test_partial_counts_render_what_is_there(emulator, support_client, result, done, failed, share):
    panel = panel_of(support_client, emulator, action(result=result))
    assert text_of(panel.select_one(".count-done")) == done
    assert text_of(panel.select_one(".count-failed")) == failed
    assert text_of(panel.select_one(".success-share")) == (f"{share} {share}" if share else "")


def test_unknown_result_keys_are_named_and_kept_in_raw_json(emulator, support_client):
    body = action(result={"message": "ok", "done_count": 1, "batch_id": "b-1", "warnings": [1]})
    panel = panel_of(support_client, emulator, body)
    assert "batch_id, warnings" in text_of(panel.select_one(".shape-note"))
    assert json.loads(panel.select_one("details.raw-json pre").get_text()) == body


def test_odd_failed_items_and_extra_columns_render(emulator, support_client):
    body = action(result={"failed": ["just text", {"code": "C1", "reason": "bad", "hint": "x"}]})
    panel = panel_of(support_client, emulator, body)
    headers = [text_of(th) for th in panel.select("table.failure-table thead th")]
    assert headers == ["Code", "Reason", "hint"]
    cells = [[text_of(td) for td in tr.select("td")] for tr in panel.select("tbody tr")]
    assert cells == [["", "just text", ""], ["C1", "bad", "x"]]
    assert text_of(panel.select_one(".count-failed")) == "2"


def test_errors_render_with_their_columns(emulator, support_client):
    errors = [{"message": "Customer not found", "key": "not_found", "source_id": "cust-1"},
              {"message": "Customer not found", "details": "gone", "source_id": "cust-2"}]
    body = action(type="CUSTOMERS.BULK_UPDATE", operation_status="FAILED",
                  result={"done_count": 1, "failed_count": 2, "errors": errors})
    panel = panel_of(support_client, emulator, body)
    headers = [text_of(th) for th in panel.select("table.failure-table thead th")]
    assert headers == ["Source id", "Message", "Details", "Key"]
    # An error is what failed: issue 17 found "2 errors failed" and "2 of 3 errors failed".
    assert text_of(panel.select_one(".reason-groups li")) == "2 errors: Customer not found"
    assert "2 errors in 3 records." in text_of(panel.select_one(".outcome"))
    assert text_of(panel.select_one("#failures-title")) == "Errors (2)"
    assert text_of(panel.select_one(".success-share")).endswith("33.3%")


def test_failed_rows_and_errors_together_get_a_kind_column(emulator, support_client):
    body = action(result={"failed": [{"code": "A", "reason": "r"}], "errors": [{"message": "m"}]})
    panel = panel_of(support_client, emulator, body)
    headers = [text_of(th) for th in panel.select("table.failure-table thead th")]
    assert headers == ["Kind", "Code", "Reason", "Message"]
    assert text_of(panel.select_one("#failures-title")) == "Failed items (2)"


def test_user_log_id_and_unknown_type(emulator, support_client):
    body = action(type="LOYALTY.MEMBERS_ENROL", user={"id": "u_1", "email": "ops@example.com"},
                  log_id="log_123", result={"message": "Enrolled 3 members.", "done_count": 3})
    panel = panel_of(support_client, emulator, body)
    assert panel.select_one(".action-user").get_text() == "id: u_1, email: ops@example.com"
    assert text_of(panel.select_one(".log-id")) == "log_123"
    assert text_of(panel.select_one(".endpoint")) == "Not documented for this type"
    assert text_of(panel.h1) == "Loyalty members enrol"


def test_live_reports_link_only_https(emulator, support_client):
    result = {"done_count": 1, "failed_count": 0, "reports_available_till": "2999-01-01T00:00:00Z",
              "reports": ["https://files.example.com/r1.csv", "javascript:alert(1)"]}
    panel = panel_of(support_client, emulator, action(result=result))
    reports = panel.select_one(".reports")
    assert [a["href"] for a in reports.select("a")] == ["https://files.example.com/r1.csv"]
    assert text_of(reports.select_one(".report-text")) == "javascript:alert(1)"
    until = text_of(reports.select_one(".reports-until"))
    assert "Available until 2999-01-01 00:00:00 UTC" in until
    assert reports.select_one(".reports-expired") is None


def test_markup_in_upstream_text_is_escaped(emulator, support_client):
    body = action(result={"message": "<b>hi</b>", "failed": [{"reason": "<img src=x onerror=1>"}]})
    panel = panel_of(support_client, emulator, body)
    assert panel.find("img") is None and panel.find("b") is None
    assert "<img src=x onerror=1>" in text_of(panel.select_one("table.failure-table"))


@pytest.mark.parametrize(
    ("result", "sentence"),
    [
        (..., "This voucher import failed, and Voucherify gave no reason."),
        ({"message": "File could not be parsed."},
         "This voucher import failed: File could not be parsed."),
        ({"failed_count": 2, "done_count": 0,
          "failed": [{"code": "A", "reason": "Duplicate"}, {"code": "B", "reason": "Duplicate"}]},
         "This voucher import failed: Duplicate. 2 of 2 rows failed."),
    ],
)
def test_failed_action_says_plainly_what_failed(emulator, support_client, result, sentence):
    panel = panel_of(support_client, emulator, action(status="FAILED", result=result))
    assert "Failed" in text_of(panel.select_one(".status"))
    outcome = panel.select_one(".outcome")
    assert "error" in outcome["class"]
    assert text_of(outcome) == sentence
    assert not panel.has_attr("hx-trigger")


@pytest.mark.parametrize(
    ("action_type", "failed", "headers", "cells"),
    [
        ("VOUCHERS.IMPORT", {"code": "V-1", "reason": "Duplicated code"},
         ["Code", "Reason"], ["V-1", "Duplicated code"]),
        ("ORDERS.IMPORT", {"source_id": "ord-7", "reason": "Unknown customer"},
         ["Source id", "Reason"], ["ord-7", "Unknown customer"]),
    ],
)
def test_a_failed_object_is_one_failed_row(emulator, support_client, action_type, failed,
                                           headers, cells):
    """The OpenAPI document gives VOUCHERS.IMPORT's and ORDERS.IMPORT's `result.failed` as an
    object (one failure), not an array: it was read as no failure at all, and a DONE action
    showed no outcome and no row."""
    body = action(type=action_type, result={"message": "Imported 2.", "done_count": 2,
                                            "failed": failed})
    panel = panel_of(support_client, emulator, body)
    assert [text_of(th) for th in panel.select("table.failure-table thead th")] == headers
    assert [[text_of(td) for td in tr.select("td")]
            for tr in panel.select("table.failure-table tbody tr")] == [cells]
    assert text_of(panel.select_one(".count-failed")) == "1"
    assert "1 of 3 rows failed." in text_of(panel.select_one(".outcome"))
    assert json.loads(panel.select_one("details.raw-json pre").get_text()) == body


@pytest.mark.parametrize("failed_count", [0, None])
def test_listed_failed_rows_are_counted_when_the_count_says_none(emulator, support_client,
                                                                 failed_count):
    """A failed_count of 0 beside listed failed rows showed "Failed 0" and "Succeeded 100%"
    under an outcome saying that not everything succeeded, above a table of failed rows."""
    rows = [{"code": "A", "reason": "Duplicated"}, {"code": "B", "reason": "Duplicated"}]
    body = action(result={"done_count": 3, "failed_count": failed_count, "failed": rows})
    panel = panel_of(support_client, emulator, body)
    assert text_of(panel.select_one(".count-failed")) == "2"
    assert text_of(panel.select_one(".success-share")).endswith("60%")
    assert text_of(panel.select_one(".outcome")) == (
        "This voucher import finished, but not everything succeeded. 2 of 5 rows failed.")


def test_a_failed_action_shows_no_success_share(emulator, support_client):
    """Voucherify counts the rows a FAILED action processed before it stopped: "Succeeded
    100%" beside "This voucher import failed" read as a success."""
    body = action(status="FAILED", result={"done_count": 5, "failed_count": 0})
    panel = panel_of(support_client, emulator, body)
    assert text_of(panel.select_one(".count-done")) == "5"
    assert panel.select_one(".success-share") is None
    assert text_of(panel.select_one(".outcome")).startswith("This voucher import failed")


@pytest.mark.parametrize(("progress", "shown"), [(150, "100%"), (-5, "0%"), (2**40, "100%")])
def test_a_progress_outside_0_to_100_is_shown_within_it(emulator, support_client, progress,
                                                        shown):
    """Progress is a percentage (0..100 in the OpenAPI document); "150%" or "-5%" was shown
    as sent, on the bar and beside it. The raw JSON keeps what was sent."""
    body = action(status="IN_PROGRESS", progress=progress, result=...)
    panel = panel_of(support_client, emulator, body)
    bar = panel.select_one(".detail-state progress")
    assert bar["value"] == shown.rstrip("%")
    assert text_of(panel.select_one(".detail-state .progress-text")) == shown
    assert json.loads(panel.select_one("details.raw-json pre").get_text())["progress"] == progress


def test_a_negative_count_is_shown_as_unknown(emulator, support_client):
    """A count is never negative: done_count -5 beside failed_count 10 read "10 of 5 rows
    failed" and "Succeeded -100%"."""
    body = action(result={"done_count": -5, "failed_count": 10})
    panel = panel_of(support_client, emulator, body)
    assert text_of(panel.select_one(".count-done")) == "—"
    assert panel.select_one(".success-share") is None
    assert text_of(panel.select_one(".outcome")).endswith(" 10 rows failed.")
