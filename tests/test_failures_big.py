"""A result with 100,000 failed rows and errors: read from upstream once, kept apart from the
action, and paged, grouped, filtered, searched and exported from the database.

The rows are generated (common reasons, one reason per customer with a non-ASCII name, a
formula-like code, errors beside failed rows); what each page must show is worked out here in
plain Python from the same rows. Speed is measured by bench/big_results.py, not here."""

from __future__ import annotations

import csv
import dataclasses
import io
import tracemalloc
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.accounts.models import ExportRecord
from dashboard.history import failed_items
from dashboard.history.failed_items import KEPT_IN_RESULT
from dashboard.history.failures import CSV_CHUNK_LINES, PAGE_SIZE, TOP_GROUPS
from dashboard.history.models import ArchivedAction, FailedItem
from dashboard.polling import economy

ROWS = 100_000
ERRORS = 1_000
ACTION_ID = "aa_0b16000000000000a1"
DETAIL_ENDPOINT = "/v1/async-actions/{id}"
HTMX = {"HTTP_HX_REQUEST": "true"}
COMMON = ("Duplicated voucher code", "unit: must be a number", "Voucher Type is required")
ERROR_MESSAGE = "Metadata value is too long"
FORMULA_AT = 777


def reason_of(n: int) -> str:
    return f"Customer Straße-{n:06d} not found" if n % 10 == 9 else COMMON[n % 3]


def generated_result() -> dict:
    failed = [{"code": f"CODE-{n:06d}", "row": n + 1, "reason": reason_of(n)}
              for n in range(ROWS - ERRORS)]
    failed[FORMULA_AT]["code"] = "=HYPERLINK(\"http://x\")"
    errors = [{"message": ERROR_MESSAGE, "key": f"key-{n}", "source_id": f"src-{n}"}
              for n in range(ERRORS)]
    return {"done_count": 5, "failed_count": ROWS, "failed": failed, "errors": errors}


def expected_rows(result: dict) -> list[list[object]]:
    """Every failure as the table's columns: Kind, Code, Source id, Row, Reason, Message, Key."""
    rows = [["Failed row", item["code"], None, item["row"], item["reason"], None, None]
            for item in result["failed"]]
    rows += [["Error", None, item["source_id"], None, None, item["message"], item["key"]]
             for item in result["errors"]]
    return rows


def reasons(result: dict) -> list[str]:
    return [item["reason"] for item in result["failed"]] + [ERROR_MESSAGE] * ERRORS


REASON_AT, MESSAGE_AT = 4, 5  # in expected_rows


def without(row: list[object], index: int) -> list[object]:
    return row[:index] + row[index + 1:]


def as_text(row: list[object]) -> list[str]:
    return ["" if value is None else str(value) for value in row]


@pytest.fixture(scope="module")
def result() -> dict:
    return generated_result()


@pytest.fixture
def big_action(emulator, result) -> str:
    emulator.timeout = 120
    emulator.insert_action({"id": ACTION_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "progress": 100,
                            "result": result})
    return ACTION_ID


def soup(response) -> BeautifulSoup:
    assert response.status_code in (200, 286)
    return BeautifulSoup(response.content, "html.parser")


def table_rows(html: BeautifulSoup) -> list[list[str]]:
    return [[cell.get_text() for cell in row.find_all("td")]
            for row in html.select("table.failure-table tbody tr")]


def summary(html: BeautifulSoup) -> str:
    return " ".join(html.select_one(".table-summary").get_text().split())


def test_support_pages_groups_filters_and_searches_every_row(big_action, support_client,
                                                             emulator, result):
    rows = expected_rows(result)
    page = soup(support_client.get(f"/actions/{big_action}/"))
    assert f"({ROWS})" in page.select_one("#failures-title").get_text()
    assert page.select_one(".count-failed").get_text() == str(ROWS)
    assert table_rows(page) == [as_text(row) for row in rows[:PAGE_SIZE]]
    counts = sorted(Counter(reasons(result)).items(), key=lambda pair: (-pair[1], pair[0]))
    shown = [(item.select_one(".group-reason").get_text(),
              int(item.select_one(".group-count").get_text()))
             for item in page.select(".reason-groups li:not(.other-groups)")]
    assert shown == counts[:TOP_GROUPS]
    others = counts[TOP_GROUPS:]
    assert (f"and {sum(n for _, n in others)} more under {len(others)} other reasons"
            in page.select_one(".other-groups").get_text())
    raw = page.select_one(".raw-json").get_text()
    assert f"… {ROWS - ERRORS - 20} more (see the table or the CSV)" in raw
    assert f"… {ERRORS - 20} more (see the table or the CSV)" in raw

    # The poll carries the same panel and ends polling.
    poll = support_client.get(f"/actions/{big_action}/?seen=DONE", **HTMX)
    assert poll.status_code == 286
    assert table_rows(soup(poll)) == [as_text(row) for row in rows[:PAGE_SIZE]]

    # A reason filter, page 3.
    wanted = [row for row, reason in zip(rows, reasons(result), strict=True)
              if reason == COMMON[1]]
    fragment = soup(support_client.get(
        f"/actions/{big_action}/failures/", {"reason": COMMON[1], "rows_page": "3"}, **HTMX))
    assert summary(fragment) == (f"Showing {2 * PAGE_SIZE + 1}–{3 * PAGE_SIZE} of "
                                 f"{len(wanted)} matching (of {ROWS}).")
    # Filtered to one reason, the reason is the heading, not a column (issue 17).
    assert table_rows(fragment) == [as_text(without(row, REASON_AT))
                                    for row in wanted[2 * PAGE_SIZE:3 * PAGE_SIZE]]

    # A reason beyond the top groups, and the errors' own reason.
    lone = reason_of(99_999 - ERRORS - 10 * 3)  # a customer's reason: one row
    fragment = soup(support_client.get(f"/actions/{big_action}/failures/", {"reason": lone},
                                       **HTMX))
    assert summary(fragment) == f"Showing 1–1 of 1 matching (of {ROWS})."
    fragment = soup(support_client.get(f"/actions/{big_action}/failures/",
                                       {"reason": ERROR_MESSAGE, "rows_page": "20"}, **HTMX))
    assert summary(fragment) == f"Showing 951–1000 of {ERRORS} matching (of {ROWS})."
    assert table_rows(fragment) == [as_text(without(row, MESSAGE_AT)) for row in rows[-50:]]

    # Search is casefolded like the in-memory table: "STRASSE-0421" finds "Straße-0421..".
    needle = "STRASSE-0421"
    found = [row for row in rows if any(needle.casefold() in str(value).casefold()
                                        for value in row if value is not None)]
    assert found
    fragment = soup(support_client.get(f"/actions/{big_action}/failures/", {"q": needle},
                                       **HTMX))
    assert summary(fragment) == f"Showing 1–{len(found)} of {len(found)} matching (of {ROWS})."
    assert table_rows(fragment) == [as_text(row) for row in found]
    fragment = soup(support_client.get(f"/actions/{big_action}/failures/",
                                       {"q": "nothing-like-this"}, **HTMX))
    assert summary(fragment) == "No items match the filter."

    # A page of rows costs the same few queries wherever it is, filtered or not.
    counts = {}
    for name, params in {"first": {}, "last": {"rows_page": "2000"},
                         "reason": {"reason": COMMON[2], "rows_page": "100"},
                         "search": {"q": "code-09"}}.items():
        with CaptureQueriesContext(connection) as queries:
            response = support_client.get(f"/actions/{big_action}/failures/", params, **HTMX)
        assert response.status_code == 200
        counts[name] = len(queries)
    # The session, the user and its permissions (3), the archived action, the summary, a count
    # (none unfiltered) and one page of rows.
    assert max(counts.values()) <= 8, counts
    assert counts["first"] == counts["last"], counts

    # Every view above came from one upstream read.
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


def test_the_csv_streams_every_row_from_the_archive(big_action, support_client, emulator,
                                                    result):
    support_client.get(f"/actions/{big_action}/")
    # The action is archived and cached without its rows; they have a table of their own.
    archived = ArchivedAction.objects.get(pk=big_action)
    assert len(archived.result["failed"]) == KEPT_IN_RESULT
    assert len(archived.result["errors"]) == KEPT_IN_RESULT
    assert FailedItem.objects.filter(action_id=big_action).count() == ROWS
    cached = cache.get(economy.final_key(big_action))
    assert len(cached.value.result.failed) == KEPT_IN_RESULT
    assert len(cached.value.result.errors) == KEPT_IN_RESULT

    response = support_client.get(f"/actions/{big_action}/failures.csv")
    assert response.status_code == 200
    assert response.streaming
    chunks = list(response.streaming_content)
    # Streamed in chunks of many lines (the server writes each chunk on its own), not one
    # write per row.
    assert len(chunks) == -(-(ROWS + 1) // CSV_CHUNK_LINES)
    lines = csv.reader(io.StringIO(b"".join(chunks).decode("utf-8")))
    header, *body = list(lines)
    assert header == ["Kind", "Code", "Source id", "Row", "Reason", "Message", "Key"]
    expected = [as_text(row) for row in expected_rows(result)]
    expected[FORMULA_AT][1] = "'" + expected[FORMULA_AT][1]  # neutralised, as always
    assert body == expected
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


def test_the_filtered_csv_streams_exactly_its_rows_in_chunks(big_action, support_client,
                                                             emulator, result):
    support_client.get(f"/actions/{big_action}/")  # archived: the rows are kept apart
    all_rows = expected_rows(result)
    all_rows[FORMULA_AT][1] = "'" + all_rows[FORMULA_AT][1]
    for params in ({"reason": COMMON[0]}, {"reason": COMMON[0], "q": "code-01"},
                   {"q": "straße-04"}):
        needle = params.get("q", "").casefold()
        wanted = [as_text(row) for row, reason in zip(all_rows, reasons(result), strict=True)
                  if reason == params.get("reason", reason)
                  and any(needle in str(value).casefold() for value in row if value is not None)]
        response = support_client.get(f"/actions/{big_action}/failures.csv", params)
        assert response.streaming
        with CaptureQueriesContext(connection) as queries:
            body = b"".join(response.streaming_content).decode("utf-8")
        header, *lines = list(csv.reader(io.StringIO(body)))
        assert header == ["Kind", "Code", "Source id", "Row", "Reason", "Message", "Key"]
        assert lines == wanted
        # Read a chunk at a time while sent, never the whole result at once.
        chunks = len(wanted) // failed_items._BATCH + 1
        assert chunks <= len(queries) <= chunks + 1, len(queries)
        assert ExportRecord.objects.latest("id").rows == len(wanted)
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


# What the first read may hold at its peak: the upstream's body (10 MB) and its parsed JSON
# take about 55 MB; an object per row on top of them (the client's parsed rows, then the
# table's) took 120 MB.
FIRST_READ_PEAK_MB = 90


def test_the_first_read_holds_no_object_per_row(big_action, support_client, emulator, settings):
    """The detail is read, split and stored straight from its JSON items, column by column."""
    # Tracing every allocation slows the read (and the emulator, on a thread of this process).
    settings.VOUCHERIFY = dataclasses.replace(settings.VOUCHERIFY, read_timeout=300)
    tracemalloc.start()
    try:
        response = support_client.get(f"/actions/{big_action}/")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"({ROWS})" in soup(response).select_one("#failures-title").get_text()
    assert FailedItem.objects.filter(action_id=big_action).count() == ROWS
    assert peak < FIRST_READ_PEAK_MB * 2**20, f"{peak / 2**20:.0f} MB"
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


def test_an_operator_sees_counts_but_no_row_of_a_big_result(big_action, operator_client):
    for response in (operator_client.get(f"/actions/{big_action}/"),
                     operator_client.get(f"/actions/{big_action}/?seen=DONE", **HTMX)):
        html = soup(response)
        assert html.select_one(".count-failed").get_text() == str(ROWS)
        assert html.select_one(".failures-restricted") is not None
        assert not html.select("table.failure-table")
        assert "CODE-" not in response.content.decode()
        assert "Straße" not in response.content.decode()
        raw = html.select_one(".raw-json").get_text()
        assert f"[{ROWS - ERRORS} hidden: failed rows need the support role]" in raw
        assert f"[{ERRORS} hidden: failed rows need the support role]" in raw
    assert operator_client.get(f"/actions/{big_action}/failures/", **HTMX).status_code == 403
    assert operator_client.get(f"/actions/{big_action}/failures.csv").status_code == 403


def test_an_action_archived_whole_earlier_is_split_on_its_first_view(emulator, support_client):
    """Archives written before results were split hold them whole: the first view splits."""
    failed = [{"code": f"OLD-{n:04d}", "row": n + 1, "reason": COMMON[n % 3]} for n in range(300)]
    obj = {"id": ACTION_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
           "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed}}
    moment = "2024-05-01T11:00:00Z"
    ArchivedAction.objects.create(id=ACTION_ID, type=obj["type"], context="VOUCHERS",
                                  status="DONE", created_at=obj["created_at"], raw=obj,
                                  result=obj["result"], has_detail=True, first_seen=moment,
                                  last_synced=moment)
    page = soup(support_client.get(f"/actions/{ACTION_ID}/", {"q": "old-0299"}))
    assert table_rows(page) == [["OLD-0299", "300", COMMON[299 % 3]]]
    assert len(ArchivedAction.objects.get(pk=ACTION_ID).result["failed"]) == KEPT_IN_RESULT
    assert FailedItem.objects.filter(action_id=ACTION_ID).count() == 300
    assert emulator.count() == 0  # served from the archive


@pytest.mark.parametrize("forged", [{"failed": "many"}, {"failed": 10**9, "x": None}, "x", {}])
def test_an_upstream_object_forging_the_split_marker_breaks_nothing(emulator, support_client,
                                                                   forged):
    failed = [{"code": f"F-{n:03d}", "row": n + 1, "reason": COMMON[0]} for n in range(30)]
    emulator.insert_action({"id": ACTION_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed},
                            failed_items.KEPT_APART: forged})
    response = support_client.get(f"/actions/{ACTION_ID}/", {"q": "f-029"})
    assert table_rows(soup(response)) == [["F-029", "30", COMMON[0]]]
