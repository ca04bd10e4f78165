"""DONE actions with failed rows: the list reads their results in the background and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.history.archive import failed_counts
from tests.helpers.html import oob_rows, poll_until_stopped, soup

DETAIL = "/v1/async-actions/{id}"


def finished_import(emulator, action_id: str, failed: int, minutes_ago: int = 1) -> dict:
    """A DONE voucher import with `failed` failed rows (listed without its result)."""
    created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return emulator.insert_action({
        "id": action_id, "type": "VOUCHERS.IMPORT", "status": "DONE", "progress": 100,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "updated_at": (created + timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "request_id": "v-0c54493e444b0f61a6", "processing_time": 30000, "object": "async_action",
        "result": {"message": f"1 imported, {failed} failed.", "done_count": 1,
                   "failed_count": failed},
    })


def status_text(node, action_id: str) -> str:
    return " ".join(node.select_one(f"#row-{action_id} .status").get_text().split())


@pytest.mark.django_db
def test_failed_rows_are_read_once_in_the_background_and_swapped_in(
    operator_client, emulator, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.5
    settings.ACTIONS_DETAILS_PER_POLL = 2
    failing = finished_import(emulator, "aa_0f00000000000000a1", 299)
    clean = finished_import(emulator, "aa_0f00000000000000a2", 0, minutes_ago=2)
    emulator.clear_stats()

    page = operator_client.get("/actions/?context=VOUCHERS&limit=10")
    assert emulator.count(endpoint=DETAIL) == 0  # the page itself reads no result
    assert status_text(soup(page), failing["id"]) == "Done"  # not known yet
    poll = soup(page).select_one("#live-poller")["hx-get"]
    assert "details=" in poll and failing["id"] in poll

    first = operator_client.get(poll)
    assert first.status_code == 200
    assert emulator.count(endpoint=DETAIL) == 2  # at most ACTIONS_DETAILS_PER_POLL
    swapped = {tr["id"]: tr for tr in oob_rows(first)}
    assert "Done · 299 failed" in swapped[f"row-{failing['id']}"].get_text()
    assert swapped[f"row-{failing['id']}"].select_one(".status-DONE-failures") is not None
    assert "failed" not in swapped[f"row-{clean['id']}"].select_one(".status").get_text()
    assert failed_counts([failing["id"], clean["id"]]) == {failing["id"]: 299, clean["id"]: 0}

    last = poll_until_stopped(operator_client, soup(first).select_one("#live-poller")["hx-get"])
    assert last.status_code == 286  # every result read: the polling ends
    reads = emulator.count(endpoint=DETAIL)

    again = operator_client.get("/actions/?context=VOUCHERS&limit=10")
    assert "Done · 299 failed" in status_text(soup(again), failing["id"])
    assert soup(again).select_one("#live-poller").get("hx-get") is None  # nothing left to read
    assert emulator.count(endpoint=DETAIL) == reads  # kept for good: never read again


@pytest.mark.django_db
def test_done_with_failures_is_a_status_filter(operator_client, emulator, settings):
    settings.ACTIONS_DETAILS_PER_POLL = 5
    failing = finished_import(emulator, "aa_0f00000000000000b1", 12)
    clean = finished_import(emulator, "aa_0f00000000000000b2", 0, minutes_ago=2)
    page = operator_client.get("/actions/?context=VOUCHERS&limit=10")
    poll_until_stopped(operator_client, soup(page).select_one("#live-poller")["hx-get"],
                       pause=0.05)
    options = [o["value"] for o in soup(page).select("#filter-status option")]
    assert "DONE_WITH_FAILURES" in options

    filtered = operator_client.get("/actions/?context=VOUCHERS&status=DONE_WITH_FAILURES")
    assert filtered.status_code == 200
    ids = [tr["id"] for tr in soup(filtered).select("tbody tr[id^=row-]")]
    assert f"row-{failing['id']}" in ids
    assert f"row-{clean['id']}" not in ids
    assert all("failed" in tr.select_one(".status").get_text()
               for tr in soup(filtered).select("tbody tr[id^=row-]"))


def test_a_poll_with_bad_details_is_refused(operator_client):
    response = operator_client.get("/actions/live/?ids=&details=nope")
    assert response.status_code == 400
    assert "not an action id" in response.content.decode()
