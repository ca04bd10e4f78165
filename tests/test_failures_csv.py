"""Failures as CSV: streamed, every row, the shape's columns, safe against formula injection."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from dashboard.accounts.models import ExportRecord
from dashboard.csvsafe import neutralise
from tests.helpers.archive_down import stored_failures_unreadable
from tests.helpers.html import csv_rows

DETAIL_ENDPOINT = "/v1/async-actions/{id}"


def insert(emulator, result: dict, type_: str = "CUSTOMERS.IMPORT_CSV",
           action_id: str = "aa_0d0000000000000c01") -> str:
    emulator.insert_action({"id": action_id, "type": type_, "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "progress": 100,
                            "result": result})
    return action_id


def test_every_failed_row_with_the_columns_its_shape_has(emulator, support_client):
    failed = [{"source_id": "a@example.com", "row": 1, "reason": "bad, \"quoted\" value"},
              {"source_id": None, "row": 2, "reason": "line\nbreak"}]
    action_id = insert(emulator, {"failed": failed, "failed_count": 2})
    response = support_client.get(f"/actions/{action_id}/failures.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{action_id}-CUSTOMERS.IMPORT_CSV-failures.csv"')
    assert csv_rows(response) == [
        ["Source id", "Row", "Reason"],
        ["a@example.com", "1", 'bad, "quoted" value'],
        ["", "2", "line\nbreak"],
    ]


def test_errors_export_with_their_columns(emulator, support_client):
    errors = [{"message": "Not found", "key": "not_found", "source_id": "c1"}]
    action_id = insert(emulator, {"errors": errors, "failed_count": 1}, "CUSTOMERS.BULK_UPDATE")
    rows = csv_rows(support_client.get(f"/actions/{action_id}/failures.csv"))
    assert rows == [["Source id", "Message", "Key"], ["c1", "Not found", "not_found"]]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain = text", "plain = text"),
        ("", ""),
    ],
)
def test_formula_injection_is_neutralised(emulator, support_client, cell, safe):
    action_id = insert(emulator, {"failed": [{"code": cell, "reason": cell}]})
    rows = csv_rows(support_client.get(f"/actions/{action_id}/failures.csv"))
    assert rows[1] == [safe, safe]
    assert neutralise(cell) == safe


def test_numbers_are_not_touched():
    assert neutralise(-5) == -5
    assert neutralise(None) == ""


def test_three_thousand_rows_stream_whole(emulator, support_client):
    failed = [{"code": f"C{n}", "reason": "r"} for n in range(3000)]
    action_id = insert(emulator, {"failed": failed}, "VOUCHERS.IMPORT")
    rows = csv_rows(support_client.get(f"/actions/{action_id}/failures.csv"))
    assert len(rows) == 3001 and rows[-1] == ["C2999", "r"]


def test_each_export_is_recorded(emulator, support_client):
    action_id = insert(emulator, {"failed": [{"code": "A", "reason": "r"}] * 4})
    response = support_client.get(f"/actions/{action_id}/failures.csv")
    csv_rows(response)
    record = ExportRecord.objects.get()
    assert (record.what, record.action_id, record.rows) == ("failures.csv", action_id, 4)
    assert record.username == "support-user"


def test_action_without_failures_is_a_404_page_with_a_sentence(emulator, support_client):
    action_id = insert(emulator, {"done_count": 3, "failed_count": 0, "errors": []})
    response = support_client.get(f"/actions/{action_id}/failures.csv")
    assert response.status_code == 404
    assert "no failed rows or errors to export" in response.content.decode()
    assert not ExportRecord.objects.exists()


def test_unknown_and_malformed_ids(emulator, support_client):
    assert support_client.get("/actions/aa_0d00000000000ffff1/failures.csv").status_code == 404
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1
    emulator.clear_stats()
    assert support_client.get("/actions/not-an-id/failures.csv").status_code == 404
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("role", ["operator", None])
def test_export_needs_the_permission(emulator, client_for, role):
    action_id = insert(emulator, {"failed": [{"code": "A", "reason": "r"}]})
    assert client_for(role).get(f"/actions/{action_id}/failures.csv").status_code == 403
    assert emulator.stats()["total"] == 0
    assert not ExportRecord.objects.exists()


def test_filename_keeps_only_safe_characters(emulator, support_client):
    action_id = insert(emulator, {"failed": [{"code": "A", "reason": "r"}]},
                       type_='X"; filename=evil.exe\r\nSet-Cookie: a=b')
    disposition = support_client.get(f"/actions/{action_id}/failures.csv")["Content-Disposition"]
    assert disposition == (f'attachment; filename="{action_id}-X_filename_evil.exe_Set-Cookie_a_b'
                           '-failures.csv"')


def test_upstream_down_is_the_detail_page_that_recovers_by_itself(emulator, support_client):
    emulator.set_faults(error_rate=1.0, error_status=503)
    response = support_client.get("/actions/aa_0d0000000000000c02/failures.csv")
    assert response.status_code == 502
    assert not ExportRecord.objects.exists()
    soup = BeautifulSoup(response.content, "html.parser")
    assert soup.select_one(".upstream-problem") is not None
    # Like the detail page, its panel polls the detail address until the upstream answers.
    panel = soup.find(id="action-panel")
    assert panel["hx-get"].split("?")[0] == "/actions/aa_0d0000000000000c02/"
    assert panel["hx-trigger"].endswith("s, poll-resume, load delay:99999ms")


def test_stored_rows_unreadable_are_a_503_never_the_kept_rows_as_the_file(emulator,
                                                                            support_client):
    failed = [{"code": f"C-{n:03d}", "row": n + 1, "reason": "Duplicated voucher code"}
              for n in range(30)]
    action_id = insert(emulator, {"failed": failed, "failed_count": 30})
    assert support_client.get(f"/actions/{action_id}/").status_code == 200  # stored apart
    with stored_failures_unreadable():
        response = support_client.get(f"/actions/{action_id}/failures.csv")
    assert (response.status_code, response.streaming) == (503, False)
    assert int(response["Retry-After"]) >= 1
    assert ("The 30 failed rows of this action cannot be read: the archive that holds them "
            "did not answer. Try again in a moment.") in " ".join(
                BeautifulSoup(response.content, "html.parser").get_text().split())
    assert not ExportRecord.objects.exists()
    # Once the archive answers, the same address streams every row.
    assert len(csv_rows(support_client.get(f"/actions/{action_id}/failures.csv"))) == 31
