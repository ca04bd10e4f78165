"""The metadata key purge audit and its CSV, against the emulator's seeded purges."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from dashboard.accounts.models import ExportRecord
from dashboard.history import purge_cells, purge_views, purges
from dashboard.history.models import ArchivedAction
from tests.helpers.upstream import detail, insert_terminal, run_sync, upstream_history

PAGE, CSV_URL = "/audit/purges/", "/audit/purges.csv"


def seeded_purges(emulator) -> list[dict]:
    """The emulator's purges with their details (read after the test's counting is done)."""
    listed = upstream_history(emulator)
    return [detail(emulator, a["id"]) for a in listed if a["type"].endswith(".METADATA_KEY_PURGE")]


def rows_of(response) -> list[dict]:
    soup = BeautifulSoup(response.content, "html.parser")
    table = soup.select_one("table.purge-table")
    if table is None:
        return []
    return [
        {"id": tr["data-id"], "cells": [td.get_text(" ", strip=True) for td in tr.find_all("td")]}
        for tr in table.select("tbody tr")
    ]


def test_the_audit_lists_every_seeded_purge_with_who_records_and_request_id(
    synced, archive, auditor_client
):
    response = auditor_client.get(PAGE)
    assert response.status_code == 200
    assert archive.count() == 0  # served from the archive
    shown = {row["id"]: row["cells"] for row in rows_of(response)}
    truth = seeded_purges(archive)
    assert len(truth) == 41 and set(shown) == {p["id"] for p in truth}
    for purge in truth:
        (object_type, _when, who, status, records, _duration, request_id, key,
         _notes) = shown[purge["id"]]
        # Purged before the first schema read: the key is not known, and the page says why.
        assert key.startswith("Key not known: no schema history from before")
        assert object_type == purges.OBJECT_TYPES_BY_TYPE[purge["type"]].capitalize()
        assert who == purge["user"]["email"]
        assert status == {"DONE": "Done", "FAILED": "Failed"}[purge["status"]]
        expected = (purge.get("result") or {}).get("done_count")
        assert records == (str(expected) if expected is not None else "—")
        assert request_id == purge["request_id"] and request_id.startswith("w-")
    assert BeautifulSoup(response.content, "html.parser").select_one(".history-missing") is None


@pytest.mark.parametrize("object_type", purges.OBJECT_TYPES)
def test_the_audit_filters_by_object_type(synced, archive, auditor_client, object_type):
    shown = {row["id"] for row in rows_of(auditor_client.get(PAGE, {"object": object_type}))}
    truth = {p["id"] for p in seeded_purges(archive)
             if purges.OBJECT_TYPES_BY_TYPE[p["type"]] == object_type}
    assert shown == truth and shown


def test_the_audit_filters_by_date_range_inclusive_of_both_days(synced, archive, auditor_client):
    truth = seeded_purges(archive)
    days = sorted({p["created_at"][:10] for p in truth})
    start, end = days[1], days[-2]
    shown = {r["id"] for r in rows_of(auditor_client.get(PAGE, {"from": start, "to": end}))}
    assert shown == {p["id"] for p in truth if start <= p["created_at"][:10] <= end}


@pytest.mark.parametrize("params, message", [
    ({"object": "coupons"}, "There is no object type"),
    ({"from": "yesterday"}, "is not a date"),
    ({"to": "2026-02-31"}, "is not a date"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "end date is before the start date"),
])
def test_bad_filter_values_get_a_message_not_a_server_error(
    synced, auditor_client, params, message
):
    response = auditor_client.get(PAGE, params)
    assert response.status_code == 400
    alert = BeautifulSoup(response.content, "html.parser").select_one(".bad-params")
    assert message in alert.get_text()
    assert auditor_client.get(CSV_URL, params).status_code == 400
    assert not ExportRecord.objects.exists()


def test_the_csv_holds_the_filtered_purges_and_the_export_is_recorded(
    synced, archive, auditor_client
):
    response = auditor_client.get(CSV_URL, {"object": "customers"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    truth = {p["id"]: p for p in seeded_purges(archive) if p["type"].startswith("CUSTOMERS.")}
    assert {row["id"] for row in table} == set(truth)
    for row in table:
        purge = truth[row["id"]]
        assert row["user"] == purge["user"]["email"] and row["object_type"] == "customers"
        assert row["request_id"] == purge["request_id"]
        assert row["duration_ms"] == str(purge["processing_time"])
    record = ExportRecord.objects.get()
    assert record.what == "purges.csv" and record.rows == len(truth)


def test_a_head_request_for_the_csv_exports_nothing_and_is_not_logged(
    synced, archive, auditor_client
):
    response = auditor_client.head(CSV_URL, {"object": "customers"})
    assert response.status_code == 200 and not b"".join(response.streaming_content)
    assert not ExportRecord.objects.exists()  # no rows left: nobody took them
    b"".join(auditor_client.get(CSV_URL, {"object": "customers"}).streaming_content)
    assert ExportRecord.objects.get().what == "purges.csv"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(archive, auditor_client):
    insert_terminal(archive, "aa_00000000000000bad1", type_="CUSTOMERS.METADATA_KEY_PURGE",
                    user={"email": "=HYPERLINK(\"http://evil\")"}, request_id="w-1",
                    result={"message": "Updated 3 customers."})
    run_sync()
    body = b"".join(auditor_client.get(CSV_URL).streaming_content).decode()
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["id"] == "aa_00000000000000bad1")
    assert row["user"] == "'=HYPERLINK(\"http://evil\")"
    assert row["records_updated"] == "3"  # parsed from the message: no done_count


@pytest.mark.parametrize("role, status", [("operator", 403), ("support", 403), ("auditor", 200)])
def test_only_auditors_see_and_export_the_purge_audit(synced, client_for, role, status):
    client = client_for(role)
    assert client.get(PAGE).status_code == status
    assert client.get(CSV_URL).status_code == status


def test_the_audit_says_which_history_is_missing_before_a_full_sync(archive, client_for):
    # The command is a technical fix: admins only (issue 17, item 7).
    admin = client_for("admin")
    response = admin.get(PAGE)
    assert "No history has been synced yet" in response.content.decode()
    run_sync(max_calls=3)
    soup = BeautifulSoup(admin.get(PAGE).content, "html.parser")
    note = soup.select_one(".history-missing").get_text(" ", strip=True)
    assert note.startswith("History before") and "has not been synced: run" in note
    assert "sync_actions" in note
    partial = soup.select_one(".purge-partial")
    assert partial is not None and "known from the list only" in partial.get_text()


def test_people_who_are_not_admins_read_what_is_missing_without_commands(archive, client_for):
    auditor = client_for("auditor")
    first = BeautifulSoup(auditor.get(PAGE).content, "html.parser")
    said = first.select_one(".history-missing").get_text(" ", strip=True)
    assert said.startswith("No history has been read from Voucherify yet")
    assert "An administrator can read the history." in said
    run_sync(max_calls=3)
    for role, who in (("support", "You can read them"), ("operator", "Someone with the support")):
        page = BeautifulSoup(client_for(role).get("/overview/").content, "html.parser")
        note = page.select_one(".history-missing").get_text(" ", strip=True)
        assert note.startswith("Actions created before") and "have not been read" in note
        assert who in note
        assert "sync_actions" not in page.get_text() and "manage.py" not in page.get_text()


@pytest.mark.parametrize("result, expected", [
    ({"done_count": 7, "message": "Updated 9 customers."}, 7),
    ({"message": "Updated 1,204 customers."}, 1204),
    ("Updated 5 vouchers.", 5),
    ({"message": "Internal error"}, None),
    (None, None),
])
def test_records_updated_come_from_done_count_or_the_message(result, expected):
    assert purge_cells.records_updated(result) == expected


def test_dates_on_the_boundaries_are_in_the_range(db):
    selected = purges.parse_filter({"from": "2026-03-01", "to": "2026-03-01"})
    assert not selected.errors
    day = datetime(2026, 3, 1, tzinfo=UTC)
    for created, id_ in ((day, "aa_1"), (day + timedelta(hours=23, minutes=59), "aa_2"),
                         (day + timedelta(days=1), "aa_3"), (day - timedelta(seconds=1), "aa_4")):
        ArchivedAction.objects.create(
            id=id_, type="ORDERS.METADATA_KEY_PURGE", context="METADATA_KEY_PURGE",
            status="DONE", created_at=created, first_seen=day, last_synced=day,
        )
    assert [row.id for row in purges.purge_rows(selected)] == ["aa_2", "aa_1"]


def test_the_audit_pages_through_purges_newest_first_and_counts_all_of_them(
    db, auditor_client, monkeypatch
):
    monkeypatch.setattr(purge_views, "PURGES_PER_PAGE", 2)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    for hours, id_ in ((1, "aa_1"), (2, "aa_2"), (3, "aa_3")):
        ArchivedAction.objects.create(
            id=id_, type="ORDERS.METADATA_KEY_PURGE", context="METADATA_KEY_PURGE",
            status="DONE", created_at=day + timedelta(hours=hours), first_seen=day,
            last_synced=day, has_detail=id_ != "aa_2",
        )
    pages = {page: auditor_client.get(PAGE, {"page": page}) for page in ("1", "2", "x", "99")}
    assert [row["id"] for row in rows_of(pages["1"])] == ["aa_3", "aa_2"]
    assert [row["id"] for row in rows_of(pages["2"])] == ["aa_1"]
    assert rows_of(pages["x"]) == rows_of(pages["1"])  # a bad page number: the first page
    assert rows_of(pages["99"]) == rows_of(pages["2"])  # past the end: the last page
    soup = BeautifulSoup(pages["2"].content, "html.parser")
    assert soup.select_one(".purge-summary").get_text(" ", strip=True).startswith("3 purges")
    assert soup.select_one(".purge-partial").get_text(" ", strip=True).startswith("1 of them")
    assert "Page 2 of 2" in soup.select_one("nav.pager").get_text(" ", strip=True)
