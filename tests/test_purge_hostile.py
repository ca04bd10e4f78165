"""Purges whose upstream values are huge or odd never poison the archive: every archive page
answers, and what cannot be read as a number is kept as text (through the emulator)."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.history import purge_cells
from tests.helpers.upstream import insert_terminal, run_sync

HUGE_MESSAGE = "Updated " + "9" * 5000 + " customers."
HOSTILE = [  # (id, result, user)
    ("aa_00000000000000f001", {"message": HUGE_MESSAGE}, {"email": "a@example.com"}),
    ("aa_00000000000000f002", {"done_count": 10**30, "message": "Updated 1 customers."},
     {"name": 12345, "id": None}),
    ("aa_00000000000000f003", {"done_count": "many", "message": "Updated 1,2,3,, customers."},
     ["not", "a", "user"]),
    ("aa_00000000000000f004", "Updated " + "1" * 19 + " customers.", "x" * 5000),
    ("aa_00000000000000f005", {"message": None, "done_count": True}, None),
]


@pytest.fixture
def hostile(archive):
    for minutes, (action_id, result, user) in enumerate(HOSTILE):
        insert_terminal(archive, action_id, type_="CUSTOMERS.METADATA_KEY_PURGE",
                        minutes_old=minutes, result=result, user=user, request_id="w-1")
    progress = run_sync()
    assert progress.problem is None
    return archive


def test_records_updated_keeps_what_is_no_sensible_number_as_text():
    assert purge_cells.records_updated({"message": HUGE_MESSAGE}) == "9" * 5000
    assert purge_cells.records_updated({"done_count": 10**30}) == str(10**30)
    assert (purge_cells.records_updated({"done_count": 10**5000})
            == "a number of more than 4,300 digits")
    assert purge_cells.records_updated("Updated " + "1" * 19 + " customers.") == "1" * 19
    assert purge_cells.records_updated({"message": "Updated 1,204 customers."}) == 1204


@pytest.mark.parametrize("url", [
    "/audit/purges/", "/audit/purges/?object=customers", "/audit/purges/?page=2",
    "/audit/purges/keys/", "/overview/", "/actions/", "/actions/?context=METADATA_KEY_PURGE",
    *[f"/actions/{action_id}/" for action_id, _r, _u in HOSTILE],
])
def test_every_archive_page_survives_hostile_purges(hostile, auditor_client, url):
    response = auditor_client.get(url)
    assert response.status_code == 200, url


def test_the_csv_is_complete_and_keeps_the_digits_as_text(hostile, auditor_client):
    response = auditor_client.get("/audit/purges.csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(
        b"".join(response.streaming_content).decode()))}
    assert set(rows) >= {action_id for action_id, _r, _u in HOSTILE}
    assert len(rows) == 41 + len(HOSTILE)  # nothing cut off after them
    assert rows["aa_00000000000000f001"]["records_updated"] == "9" * 5000
    assert rows["aa_00000000000000f002"]["records_updated"] == str(10**30)
    assert rows["aa_00000000000000f003"]["records_updated"] == "123"
    assert rows["aa_00000000000000f004"]["user"] == "x" * 5000
    assert rows["aa_00000000000000f005"]["records_updated"] == ""
