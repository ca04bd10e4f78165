"""Exporting what is filtered: "these N" carries the table's filter to the CSV, "all N" does
not; the export log records the filter. Failed rows are generated (seeded), with reasons and
ids a spreadsheet or a page could mishandle; what each export must hold is worked out here in
plain Python from the same rows."""

from __future__ import annotations

import random
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.accounts.models import ExportRecord
from dashboard.csvsafe import neutralise
from dashboard.history.failures import NO_REASON
from tests.helpers.html import csv_rows, soup, text_of

ACTION_ID = "aa_0e0000000000000f01"
REASONS = ("Duplicated voucher code", "=cmd|' /C calc'!A0", "Customer Straße, \"quoted\"\nline",
           "unit: must be a number", "")


def generated_rows(seed: int, count: int = 299) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        user = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz.", k=rng.randint(3, 30)))
        rows.append({"code": rng.choice(["", "+", "-", "@"]) + f"CODE-{n:05d}",
                     "source_id": f"{user}@example-{n}.com", "row": n + 1,
                     "reason": rng.choices(REASONS, weights=(5, 2, 2, 3, 1))[0]})
    return rows


def grouped_reason(row: dict) -> str:
    return row["reason"].strip() or NO_REASON


def as_csv(row: dict) -> list[str]:
    return [str(neutralise(row[name])) for name in ("code", "source_id", "row", "reason")]


@pytest.fixture(params=[11, 29])
def rows(request, emulator) -> list[dict]:
    generated = generated_rows(request.param)
    emulator.insert_action({
        "id": ACTION_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": "2024-05-01T10:00:00Z",
        "result": {"done_count": 1000, "failed_count": len(generated), "failed": generated}})
    return generated


def failures_section(client, **params):
    response = client.get(f"/actions/{ACTION_ID}/", params)
    assert response.status_code == 200
    return soup(response).find(id="failures")


def test_a_filtered_view_offers_these_and_all(rows, support_client):
    reason, count = Counter(map(grouped_reason, rows)).most_common(2)[1]
    section = failures_section(support_client, reason=reason)
    these, every = section.select_one("a.csv-these"), section.select_one("a.csv-all")
    assert text_of(these) == f"Download these {count} as CSV"
    assert text_of(every) == f"Download all {len(rows)} as CSV"
    assert parse_qs(urlsplit(these["href"]).query) == {"reason": [reason]}
    assert every["href"] == f"/actions/{ACTION_ID}/failures.csv"
    # Unfiltered, there is only "all".
    section = failures_section(support_client)
    assert section.select_one("a.csv-these") is None
    assert text_of(section.select_one("a.csv-all")) == f"Download all {len(rows)} as CSV"


def test_these_exports_exactly_the_filtered_rows_with_safe_cells(rows, support_client):
    for reason in sorted(set(map(grouped_reason, rows))):
        href = failures_section(support_client, reason=reason).select_one("a.csv-these")["href"]
        response = support_client.get(href)
        assert response.status_code == 200 and response.streaming
        assert "-failures-filtered.csv" in response["Content-Disposition"]
        header, *body = csv_rows(response)
        assert header == ["Code", "Source id", "Row", "Reason"]
        assert body == [as_csv(row) for row in rows if grouped_reason(row) == reason]
        assert not any(cell.startswith(("=", "+", "-", "@")) for line in body for cell in line)


def test_a_search_with_a_reason_exports_what_both_select(rows, support_client):
    reason = grouped_reason(rows[0])
    needle = rows[0]["source_id"][:3].upper()
    wanted = [row for row in rows if grouped_reason(row) == reason
              and any(needle.casefold() in str(value).casefold() for value in row.values())]
    section = failures_section(support_client, reason=reason, q=needle)
    assert text_of(section.select_one("a.csv-these")) == f"Download these {len(wanted)} as CSV"
    body = csv_rows(support_client.get(section.select_one("a.csv-these")["href"]))[1:]
    assert body == [as_csv(row) for row in wanted]


def test_all_exports_every_row_whatever_the_page_shows(rows, support_client):
    href = failures_section(support_client, reason=REASONS[0]).select_one("a.csv-all")["href"]
    response = support_client.get(href)
    assert "-failures.csv" in response["Content-Disposition"]
    assert csv_rows(response)[1:] == [as_csv(row) for row in rows]


def test_the_export_log_records_the_filter_and_opens_the_same_view(rows, support_client,
                                                                   auditor_client):
    reason = grouped_reason(rows[-1])
    count = sum(1 for row in rows if grouped_reason(row) == reason)
    csv_rows(support_client.get(f"/actions/{ACTION_ID}/failures.csv", {"reason": reason}))
    csv_rows(support_client.get(f"/actions/{ACTION_ID}/failures.csv"))
    filtered, whole = ExportRecord.objects.order_by("id")
    assert (filtered.rows, filtered.filters) == (count, {"reason": reason})
    assert filtered.filter_text == f"reason {reason}"
    assert (whole.rows, whole.filters, whole.filter_text) == (len(rows), {}, "")
    log = soup(auditor_client.get("/audit/exports/"))
    links = [a for a in log.select("tbody a.export-view")]
    assert [a.get_text() for a in links] == ["everything", f"reason {reason}"]
    assert links[1]["href"] == filtered.link
    # The link opens the table filtered the same way: the same rows, the same count.
    section = failures_section(support_client, **parse_qs(urlsplit(filtered.link).query))
    assert text_of(section.select_one("a.csv-these")) == f"Download these {count} as CSV"


def test_a_bad_filter_on_the_csv_address_never_fails(rows, support_client):
    for params in ({"reason": "x" * 5000}, {"q": "\x00"}, {"rows_page": "-1", "reason": ""}):
        response = support_client.get(f"/actions/{ACTION_ID}/failures.csv", params)
        assert response.status_code == 200
        assert csv_rows(response)[0] == ["Code", "Source id", "Row", "Reason"]
