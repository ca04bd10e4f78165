"""What a role may not see is absent from every place on its pages, raw JSON included; and
the failures CSV neutralises its headers like its cells."""

from __future__ import annotations

import csv
import io

import pytest

from tests.helpers.upstream import insert_terminal

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}
EMAIL = "ada.secret@example.com"
REPORT = "https://download.voucherify.io/reports/r-7f3e9b1c.csv"
HOSTILE_KEYS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
                "\tkey", "\rkey"]


@pytest.fixture
def failed_without_message(emulator):
    return insert_terminal(
        emulator, "aa_0c00000000000a0e01", type_="CUSTOMERS.IMPORT_CSV", status="FAILED",
        result={"failed_count": 1, "failed": [
            {"code": "invalid_email", "row": 1, "reason": f"{EMAIL} is not a valid e-mail"}]},
    )


@pytest.fixture
def with_reports(emulator):
    return insert_terminal(
        emulator, "aa_0c00000000000a0e02", type_="CUSTOMERS.METADATA_UPDATE",
        result={"done_count": 3, "reports": [REPORT],
                "reports_available_till": "2999-01-01T00:00:00Z"},
    )


def pages(client, action_id: str) -> list[bytes]:
    path = f"/actions/{action_id}/"
    return [client.get(path).content, client.get(path, **HTMX).content,
            client.get(path, {"seen": "IN_PROGRESS"}, **HTMX).content]


@pytest.mark.django_db
def test_operators_never_read_a_failed_rows_reason(failed_without_message, client_for):
    operator = client_for("operator")
    for content in pages(operator, failed_without_message["id"]):
        assert EMAIL.encode() not in content
        assert b"failed" in content.lower()
    support = client_for("support")
    assert EMAIL.encode() in support.get(f"/actions/{failed_without_message['id']}/").content


@pytest.mark.django_db
def test_operators_never_read_report_links(with_reports, client_for):
    operator = client_for("operator")
    for content in pages(operator, with_reports["id"]):
        assert b"r-7f3e9b1c" not in content
    assert b"needs the support role" in operator.get(f"/actions/{with_reports['id']}/").content
    support = client_for("support")
    assert REPORT.encode() in support.get(f"/actions/{with_reports['id']}/").content


@pytest.mark.django_db
def test_undocumented_keys_are_neutralised_as_csv_headers(emulator, superuser_client):
    row = {"code": "bad", "row": 1, "reason": "r", **{key: "v" for key in HOSTILE_KEYS}}
    body = insert_terminal(emulator, "aa_0c00000000000a0e03",
                           result={"failed_count": 1, "failed": [row]})
    response = superuser_client.get(f"/actions/{body['id']}/failures.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert len(header) == 3 + len(HOSTILE_KEYS)
    for key in HOSTILE_KEYS:
        assert "'" + key in header
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in header)
