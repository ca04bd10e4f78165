"""A result with 100,000 failed rows and errors: read from upstream once, kept apart from the
action, and paged, grouped, filtered, searched and exported from the database.

The rows are generated (common reasons, one reason per customer with a non-ASCII name, a
formula-like code, errors beside failed rows); what each page must show is worked out here in
plain Python from the same rows. Speed is measured by bench/big_results.py, not here."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dashboard import hot
from dashboard.accounts.models import ExportRecord
from dashboard.history import archive, failed_items, rows_later
from dashboard.history.failed_items import KEPT_IN_RESULT
from dashboard.history.failures import CSV_CHUNK_LINES, PAGE_SIZE, TOP_GROUPS
from dashboard.history.models import ArchivedAction, FailedItem, FailureSummary
from dashboard.history.prune import prune
from dashboard.polling import budget, economy, reads, store

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


@pytest.fixture(autouse=True)
def stores_end_first(transactional_db):
    """The rows are stored by a thread with a connection of its own (so every test commits);
    it ends before the tables are emptied."""
    yield
    rows_later.wait_all()


# What the browser sends when the failures section polls while the rows are stored.
ROWS_POLL = {**HTMX, "HTTP_HX_TRIGGER": "failures"}
POLLS = 1200  # bounded: a count, not a time limit
POLL_PAUSE = 0.1


def stored_rows(client, action_id: str) -> BeautifulSoup:
    """Poll the failures section as the browser does until the table ends the polling; each
    answer before it is the loading panel, never part of the table."""
    for _ in range(POLLS):
        response = client.get(f"/actions/{action_id}/failures/", **ROWS_POLL)
        if response.status_code == 286:
            return soup(response)
        html = soup(response)
        assert html.select_one(".rows-loading") is not None
        assert not html.select("table.failure-table")
        time.sleep(POLL_PAUSE)
    raise AssertionError(f"the rows were not stored after {POLLS} polls")


def first_view(client, action_id: str) -> BeautifulSoup:
    """The first view (summary and loading panel), then the rows once stored."""
    page = soup(client.get(f"/actions/{action_id}/"))
    stored_rows(client, action_id)
    return page


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
    first_view(support_client, big_action)
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
    first_view(support_client, big_action)
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
    first_view(support_client, big_action)  # archived: the rows are kept apart
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
    try:  # the page, then the rows stored by the thread it started
        response = support_client.get(f"/actions/{big_action}/")
        rows_later.wait_all()
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
        assert html.select_one(".rows-loading") is None  # the summary only: nothing to wait for
        assert not html.select("table.failure-table")
        assert "CODE-" not in response.content.decode()
        assert "Straße" not in response.content.decode()
        raw = html.select_one(".raw-json").get_text()
        assert f"[{ROWS - ERRORS} hidden: failed rows need the support role]" in raw
        assert f"[{ERRORS} hidden: failed rows need the support role]" in raw
    assert operator_client.get(f"/actions/{big_action}/failures/", **HTMX).status_code == 403
    assert operator_client.get(f"/actions/{big_action}/failures.csv").status_code == 403


def test_the_rows_poll_is_not_slowed_down_while_voucherify_holds_calls_back(
        big_action, support_client, settings):
    """The rows come from the archive, never from Voucherify: a 429's hold, which slows the
    panels' polls down, leaves their poll at the plain interval."""
    token = rows_later.claim(big_action)  # another worker stores them: the page waits for it
    try:
        support_client.get(f"/actions/{big_action}/")
        budget.note_retry_at(datetime.fromtimestamp(store.now() + 40, UTC))
        hot.clear()
        page = soup(support_client.get(f"/actions/{big_action}/"))
    finally:
        rows_later.release(big_action, token)

    assert reads.poll_interval() > settings.ACTIONS_POLL_INTERVAL
    section = page.select_one("#failures")
    assert section.select_one(".rows-loading") is not None
    assert section["hx-trigger"] == f"every {settings.ACTIONS_POLL_INTERVAL:g}s"


def stores_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == rows_later.__name__ and record.getMessage().startswith("Stored ")]


def test_the_first_view_shows_the_summary_and_polls_until_the_rows_are_stored(
        big_action, support_client, emulator, caplog, result, settings):
    caplog.set_level(logging.INFO, logger=rows_later.__name__)
    page = soup(support_client.get(f"/actions/{big_action}/"))
    # The summary at once: counts, the outcome, the raw JSON's first rows.
    assert page.select_one(".count-failed").get_text() == str(ROWS)
    assert page.select_one(".count-done").get_text() == "5"
    assert f"{ROWS:,} of {ROWS + 5:,} items failed" in page.select_one(".outcome").get_text()
    assert f"… {ERRORS - 20} more (see the table or the CSV)" in \
        page.select_one(".raw-json").get_text()
    # The failed rows: a loading panel that polls the failures section, no partial table.
    # (Storing takes seconds; the page answers as soon as the summary is archived.)
    section = page.select_one("#failures")
    assert section.select_one(".rows-loading") is not None
    assert f"({ROWS})" in section.select_one("#failures-title").get_text()
    assert f"Loading the {ROWS:,} failed items…" in section.get_text()
    assert section["hx-get"] == f"/actions/{big_action}/failures/"
    assert section["hx-trigger"] == f"every {settings.ACTIONS_POLL_INTERVAL:g}s"
    assert not page.select("table.failure-table")
    assert not page.select(".csv-link")
    assert not page.select(".shape-note")  # not "the archive did not answer"
    # The poll's last answer is the table, with 286 to end the polling.
    table = stored_rows(support_client, big_action)
    assert table.select_one("#failures").get("hx-trigger") is None
    assert table_rows(table) == [as_text(row) for row in expected_rows(result)[:PAGE_SIZE]]
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {ROWS}."
    assert len(table.select(".reason-groups li:not(.other-groups)")) == TOP_GROUPS
    assert FailureSummary.objects.get(pk=big_action).complete
    # Later views read the stored rows: no loading panel, no second read or store.
    again = soup(support_client.get(f"/actions/{big_action}/"))
    assert again.select_one(".rows-loading") is None
    assert len(table_rows(again)) == PAGE_SIZE
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1
    assert stores_logged(caplog) == [f"Stored the {ROWS} failed items of {big_action}"]


def test_a_panel_polled_while_the_rows_are_stored_does_not_share_that_answer(
        big_action, support_client):
    """The finished panel's last answer is shared by its viewers once it is whole; while the
    rows are stored it is the loading panel, which must not be served to later polls."""
    support_client.get(f"/actions/{big_action}/")  # starts storing the rows
    polled = soup(support_client.get(f"/actions/{big_action}/?seen=DONE", **HTMX))
    assert polled.select_one(".rows-loading") is not None
    stored_rows(support_client, big_action)
    after = support_client.get(f"/actions/{big_action}/?seen=DONE", **HTMX)
    assert after.status_code == 286
    assert soup(after).select_one(".rows-loading") is None
    assert len(table_rows(soup(after))) == PAGE_SIZE


def test_concurrent_first_viewers_cost_one_detail_call_and_one_store(
        big_action, support_client, emulator, caplog):
    caplog.set_level(logging.INFO, logger=rows_later.__name__)
    viewers = 4
    session = support_client.cookies
    answers: list[int] = []
    start = threading.Barrier(viewers)

    def view() -> None:
        client = Client()
        client.cookies = session
        start.wait()
        answers.append(client.get(f"/actions/{big_action}/").status_code)
        connection.close()

    threads = [threading.Thread(target=view) for _ in range(viewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * viewers
    stored_rows(support_client, big_action)
    rows_later.wait_all()
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1
    assert stores_logged(caplog) == [f"Stored the {ROWS} failed items of {big_action}"]
    assert FailedItem.objects.filter(action_id=big_action).count() == ROWS


def test_a_store_cut_short_is_never_shown_and_is_done_again(big_action, support_client,
                                                            emulator, caplog):
    first_view(support_client, big_action)
    rows_later.wait_all()
    caplog.set_level(logging.INFO, logger=rows_later.__name__)
    caplog.clear()
    # A worker that died mid-store: the summary still incomplete, part of the rows written
    # (say, by a database that kept them), nobody holding the lock.
    FailureSummary.objects.filter(pk=big_action).update(complete=False)
    FailedItem.objects.filter(action_id=big_action, position__gte=ROWS // 2).delete()
    page = soup(support_client.get(f"/actions/{big_action}/"))
    assert page.select_one(".count-failed").get_text() == str(ROWS)
    assert not page.select("table.failure-table")  # never half the rows as if all
    # Storing again takes seconds (a detail read, then the rows): the CSV says to wait.
    assert support_client.get(f"/actions/{big_action}/failures.csv").status_code == 503
    table = stored_rows(support_client, big_action)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {ROWS}."
    assert FailedItem.objects.filter(action_id=big_action).count() == ROWS
    assert stores_logged(caplog) == [f"Stored the {ROWS} failed items of {big_action}"]
    # Storing again needs the rows: one more detail read, at background priority.
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 2


SMALLER_ID = "aa_0b16000000000000a2"


def smaller_action(emulator) -> None:
    failed = [{"code": f"C-{n}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    emulator.insert_action({"id": SMALLER_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed}})


def test_the_process_storing_the_rows_answers_their_loading_panel_without_asking(
        emulator, support_client, monkeypatch):
    """While this process stores a result's rows, a poll of its loading panel reads no summary
    and tries no lock: it knows they are loading (every full render of the panel used to cost
    a query and two cache round trips)."""
    smaller_action(emulator)
    go_on = threading.Event()
    real_rows = rows_later.of_action

    def held_rows(action):
        def rows():
            go_on.wait(60)
            return real_rows(action)()
        return rows

    claims = []
    real_claim = rows_later.claim
    monkeypatch.setattr(rows_later, "of_action", held_rows)
    monkeypatch.setattr(rows_later, "claim",
                        lambda action_id: claims.append(action_id) or real_claim(action_id))
    try:
        page = soup(support_client.get(f"/actions/{SMALLER_ID}/"))
        assert claims == [SMALLER_ID]  # the store's own claim
        with CaptureQueriesContext(connection) as queries:
            polled = soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
        for html in (page, polled):
            assert html.select_one(".rows-loading") is not None
            assert f"Loading the {rows_later.LATER_FROM:,} failed rows" in html.get_text()
        assert not [q for q in queries.captured_queries if "failuresummary" in q["sql"]]
        assert claims == [SMALLER_ID]
        assert rows_later.storing_here(SMALLER_ID)
    finally:
        go_on.set()
    table = stored_rows(support_client, SMALLER_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    assert not rows_later.storing_here(SMALLER_ID)
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


def archive_writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"history_' in q["sql"]
            and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_the_first_read_answers_before_it_writes_to_the_archive(emulator, support_client,
                                                                monkeypatch):
    """The page that read a big result answers with its summary and a loading panel; the
    action's row, its incomplete summary and then its rows are written by the thread that
    stores them. Until the row is in, another worker's viewer (who cannot know this one is
    at it) gets the loading panel too, never the first rows the cached copy keeps as if all."""
    smaller_action(emulator)
    go_on = threading.Event()
    real_archive = archive._archive_pending

    def held_archive(*args):
        go_on.wait(60)
        real_archive(*args)

    monkeypatch.setattr(archive, "_archive_pending", held_archive)
    try:
        with CaptureQueriesContext(connection) as queries:
            page = soup(support_client.get(f"/actions/{SMALLER_ID}/"))
        assert archive_writes(queries) == []
        assert page.select_one(".rows-loading") is not None
        assert not ArchivedAction.objects.filter(pk=SMALLER_ID).exists()
        with monkeypatch.context() as elsewhere:
            elsewhere.setattr(rows_later, "storing_here", lambda action_id: False)
            polled = soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
            assert polled.select_one(".rows-loading") is not None
            assert not polled.select("table.failure-table")
            assert support_client.get(f"/actions/{SMALLER_ID}/failures.csv").status_code == 503
    finally:
        go_on.set()
    table = stored_rows(support_client, SMALLER_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    assert ArchivedAction.objects.get(pk=SMALLER_ID).has_detail
    assert FailureSummary.objects.get(pk=SMALLER_ID).complete
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


def test_an_archive_that_refuses_the_action_is_said_so_and_the_action_read_again(
        emulator, support_client, monkeypatch):
    """The thread's first write fails (the database refuses it): the waiting panel says so,
    and the cached copy, which keeps only the first rows, goes, so that the next view reads
    the action again; once the lock has expired its rows are stored whole."""
    smaller_action(emulator)
    refusals = []

    def refusing_archive(*args):
        refusals.append(args)
        raise DatabaseError("the archive refused the row")

    monkeypatch.setattr(archive, "_archive_pending", refusing_archive)
    page = soup(support_client.get(f"/actions/{SMALLER_ID}/"))
    rows_later.wait_all()
    assert page.select_one(".rows-loading") is not None
    assert len(refusals) == 1
    assert economy.cached_action(SMALLER_ID) is None
    monkeypatch.undo()
    html = soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
    assert html.select_one(".rows-loading") is not None
    assert not html.select("table.failure-table")
    assert "Storing them failed (the archive did not take them)." in \
        html.select_one(".rows-failed").get_text()
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 2  # the action read again
    assert ArchivedAction.objects.get(pk=SMALLER_ID).has_detail  # written by that read
    cache.delete(rows_later.lock_key(SMALLER_ID))  # the failed store's lock expires
    table = stored_rows(support_client, SMALLER_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    assert FailedItem.objects.filter(action_id=SMALLER_ID).count() == rows_later.LATER_FROM


def test_a_store_that_fails_is_tried_again_once_per_lock_not_on_every_poll(
        emulator, support_client, monkeypatch):
    """Voucherify down while the rows are read again: the failed store keeps its lock until it
    expires, so the panels polling meanwhile cause no further read."""
    monkeypatch.setattr(rows_later, "LOCK_SECONDS", 600)  # never expires during the test
    smaller_action(emulator)
    first_view(support_client, SMALLER_ID)
    rows_later.wait_all()
    # A store left unfinished, found while Voucherify answers 503.
    FailureSummary.objects.filter(pk=SMALLER_ID).update(complete=False)
    emulator.set_faults(error_rate=1.0, error_status=503, endpoints=[DETAIL_ENDPOINT])
    reads_before = emulator.count(endpoint=DETAIL_ENDPOINT)
    soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
    rows_later.wait_all()
    failed_reads = emulator.count(endpoint=DETAIL_ENDPOINT)
    assert failed_reads > reads_before  # it tried (with the client's retries)
    for _ in range(5):
        html = soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
        assert html.select_one(".rows-loading") is not None
        # The waiting panel says why (Voucherify's answer), and that it is tried again.
        problem = html.select_one(".rows-failed").get_text()
        assert "Storing them failed (Voucherify did not give them again: " in problem
        assert "tried again within 600 seconds" in problem
        rows_later.wait_all()
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == failed_reads
    assert cache.get(rows_later.lock_key(SMALLER_ID)) is not None
    # Once the lock expires (deleted here) and Voucherify answers, the next poll stores them.
    emulator.clear_faults()
    cache.delete(rows_later.lock_key(SMALLER_ID))
    table = stored_rows(support_client, SMALLER_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    assert cache.get(rows_later.failed_key(SMALLER_ID)) is None


def read_first_while_another_worker_stores(emulator, client) -> BeautifulSoup:
    """The first view of a result of LATER_FROM rows while the lock on storing its rows is held
    by another worker (it claimed first, or its store failed and the lock waits to expire)."""
    failed = [{"code": f"C-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    emulator.insert_action({"id": SMALLER_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed}})
    cache.set(rows_later.lock_key(SMALLER_ID), "another worker", rows_later.LOCK_SECONDS)
    return soup(client.get(f"/actions/{SMALLER_ID}/"))


def test_a_first_read_while_another_worker_holds_the_lock_waits_for_the_rows(
        emulator, support_client):
    page = read_first_while_another_worker_stores(emulator, support_client)
    rows_later.wait_all()
    assert page.select_one(".rows-loading") is not None  # not the kept rows as if all
    assert not page.select("table.failure-table")
    html = soup(support_client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL))
    assert html.select_one(".rows-loading") is not None
    assert support_client.get(f"/actions/{SMALLER_ID}/failures.csv").status_code == 503
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1  # the lock's holder is at it


def test_once_that_lock_is_gone_the_rows_are_stored_and_exported_whole(emulator,
                                                                       support_client):
    read_first_while_another_worker_stores(emulator, support_client)
    rows_later.wait_all()
    cache.delete(rows_later.lock_key(SMALLER_ID))  # that worker died, or its lock expired
    table = stored_rows(support_client, SMALLER_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    body = support_client.get(f"/actions/{SMALLER_ID}/failures.csv").streaming_content
    assert len(b"".join(body).decode().splitlines()) == rows_later.LATER_FROM + 1
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 2  # the rows read again, once


def left_unfinished(emulator, client, monkeypatch, failed: list[dict]) -> None:
    """An action of SMALLER_ID whose rows were stored once, then found incomplete (a worker
    died mid-store) with nobody holding the lock, which lasts 0.3 s from here on."""
    monkeypatch.setattr(rows_later, "LOCK_SECONDS", 0.3)
    emulator.insert_action({"id": SMALLER_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed}})
    first_view(client, SMALLER_ID)
    rows_later.wait_all()
    FailureSummary.objects.filter(pk=SMALLER_ID).update(complete=False)
    cache.delete(rows_later.lock_key(SMALLER_ID))


def polled_past_their_locks(client, polls: int = 8) -> BeautifulSoup:
    """The failures section polled as the browser does, each poll after the last one's lock
    has expired; the last answer."""
    for _ in range(polls):
        response = client.get(f"/actions/{SMALLER_ID}/failures/", **ROWS_POLL)
        rows_later.wait_all()
        if response.status_code == 286:
            break
        time.sleep(0.35)
    return soup(response)


def test_a_result_read_again_shorter_is_stored_as_it_now_is_and_ends_the_panel(
        emulator, support_client, monkeypatch):
    failed = [{"code": f"C-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    left_unfinished(emulator, support_client, monkeypatch, failed)
    emulator.insert_action({"id": SMALLER_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z",
                            "result": {"failed": failed[:10]}})  # it lists 10 rows now
    reads_before = emulator.count(endpoint=DETAIL_ENDPOINT)
    html = polled_past_their_locks(support_client)
    assert html.select_one(".rows-loading") is None
    assert summary(html) == "Showing 1–10 of 10."
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == reads_before + 1
    body = support_client.get(f"/actions/{SMALLER_ID}/failures.csv").streaming_content
    assert len(b"".join(body).decode().splitlines()) == 11


def test_a_store_whose_worker_died_before_the_actions_row_stores_it_all_again(
        emulator, support_client, monkeypatch):
    """The storing thread writes the action's row after the page has answered: a worker killed
    in between leaves the cached copy (its first rows) with no row and no summary. The next
    store reads the action again and writes the row as well as the rows."""
    failed = [{"code": f"C-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    left_unfinished(emulator, support_client, monkeypatch, failed)
    ArchivedAction.objects.filter(pk=SMALLER_ID).delete()  # its summary and rows go with it
    reads_before = emulator.count(endpoint=DETAIL_ENDPOINT)
    html = polled_past_their_locks(support_client)
    assert summary(html) == f"Showing 1–{PAGE_SIZE} of {rows_later.LATER_FROM}."
    assert ArchivedAction.objects.get(pk=SMALLER_ID).has_detail
    assert FailedItem.objects.filter(action_id=SMALLER_ID).count() == rows_later.LATER_FROM
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == reads_before + 1


def test_rows_of_an_action_neither_archived_nor_known_upstream_are_not_read_on_every_poll(
        emulator, support_client, monkeypatch):
    """No row and no summary in the archive (a worker killed before writing them), and
    Voucherify answers 404: there is nothing to mark the rows gone on, so the cached copy
    goes instead, and the page says the action is not found, rather than each poll of the
    loading panel reading the action again."""
    failed = [{"code": f"C-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    left_unfinished(emulator, support_client, monkeypatch, failed)
    ArchivedAction.objects.filter(pk=SMALLER_ID).delete()
    emulator.set_faults(error_rate=1.0, error_status=404, endpoints=[DETAIL_ENDPOINT])
    polled_past_their_locks(support_client, polls=3)
    reads = emulator.count(endpoint=DETAIL_ENDPOINT)
    for _ in range(5):
        page = support_client.get(f"/actions/{SMALLER_ID}/")
        rows_later.wait_all()
    assert page.status_code == 404
    assert emulator.count(endpoint=DETAIL_ENDPOINT) <= reads + 1  # read once more at most


def test_rows_voucherify_no_longer_has_end_the_panel_and_are_never_read_again(
        emulator, support_client, monkeypatch):
    failed = [{"code": f"C-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]}
              for n in range(rows_later.LATER_FROM)]
    left_unfinished(emulator, support_client, monkeypatch, failed)
    emulator.set_faults(error_rate=1.0, error_status=404, endpoints=[DETAIL_ENDPOINT])
    reads_before = emulator.count(endpoint=DETAIL_ENDPOINT)
    html = polled_past_their_locks(support_client)
    section = html.select_one("#failures")
    assert section.get("hx-trigger") is None  # polls no more
    assert " ".join(section.select_one(".rows-unavailable").get_text().split()) == (
        f"The {rows_later.LATER_FROM:,} failed rows cannot be read: Voucherify no longer has "
        "this action, and they were never stored.")
    reads = emulator.count(endpoint=DETAIL_ENDPOINT)
    assert reads > reads_before  # read once (with the client's retries), then never again
    polled_past_their_locks(support_client, polls=3)
    page = soup(support_client.get(f"/actions/{SMALLER_ID}/"))
    assert page.select_one(".rows-unavailable") is not None
    assert not page.select("table.failure-table")
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == reads
    response = support_client.get(f"/actions/{SMALLER_ID}/failures.csv")
    assert (response.status_code, response.streaming) == (404, False)
    assert "Voucherify no longer has this action" in response.content.decode()


def test_the_csv_while_the_rows_are_stored_says_so_with_retry_after(big_action,
                                                                    support_client):
    support_client.get(f"/actions/{big_action}/")
    # Held as if a store were still running (the first one has ended or not: the flag says).
    rows_later.wait_all()
    FailureSummary.objects.filter(pk=big_action).update(complete=False)
    cache.set(rows_later.lock_key(big_action), "another worker", rows_later.LOCK_SECONDS)
    response = support_client.get(f"/actions/{big_action}/failures.csv")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= reads.poll_interval()
    assert not response.streaming
    assert "try the download again in a moment" in response.content.decode()
    assert not ExportRecord.objects.exists()
    # Once complete, the same request streams every row.
    FailureSummary.objects.filter(pk=big_action).update(complete=True)
    response = support_client.get(f"/actions/{big_action}/failures.csv")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode("utf-8").splitlines()) == ROWS + 1


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


PRUNED_ID = "aa_0b16000000000000a3"


@pytest.mark.parametrize("count", [300, rows_later.LATER_FROM])
def test_a_pruned_action_is_read_again_not_shown_with_its_kept_rows_as_if_all(
        emulator, support_client, settings, count):
    """Retention deletes an action and its failed rows from the archive; the cached copy of
    it (kept for good: a finished action never changes) holds only the first rows. The next
    view must not show those as all of them: the action is read from Voucherify again."""
    failed = [{"code": f"P-{n:05d}", "row": n + 1, "reason": COMMON[n % 3]} for n in range(count)]
    emulator.insert_action({"id": PRUNED_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "result": {"failed": failed}})
    first_view(support_client, PRUNED_ID)
    rows_later.wait_all()
    assert FailedItem.objects.filter(action_id=PRUNED_ID).count() == count
    settings.ARCHIVE_RETENTION_DAYS = 30  # the action is from 2024
    assert prune().deleted == 1
    assert not FailureSummary.objects.filter(pk=PRUNED_ID).exists()

    page = first_view(support_client, PRUNED_ID)
    assert page.select_one(".count-failed").get_text() == str(count)
    shown = table_rows(page)
    assert not shown or len(shown) == PAGE_SIZE  # a loading panel or the first page of all
    table = stored_rows(support_client, PRUNED_ID)
    assert summary(table) == f"Showing 1–{PAGE_SIZE} of {count}."
    csv_lines = b"".join(support_client.get(
        f"/actions/{PRUNED_ID}/failures.csv").streaming_content).decode().splitlines()
    assert len(csv_lines) == count + 1
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 2
