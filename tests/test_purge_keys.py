"""Which key a purge removed: schema snapshots read by sync_actions and by the dashboard's own
polling, attribution on /audit/purges/ and in its CSV, with the ambiguous and unknown cases."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache

from dashboard.history import schema_reads
from dashboard.history.models import SchemaSnapshot
from dashboard.history.schemas import SchemaHistory, key_attribution
from tests.helpers.upstream import run_sync

PAGE, CSV_URL, KEYS = "/audit/purges/", "/audit/purges.csv", "/audit/purges/keys/"
SCHEMAS = "/v1/metadata-schemas"
RUNNING_PURGE_S = 600  # seconds: shorter than the emulator's token life (900 s)


def finish(emulator, action: dict) -> dict:
    """Wait (bounded) until the emulator's purge action is DONE; the key is gone then."""
    deadline = time.monotonic() + 15
    while True:
        body = emulator.api(f"/v1/async-actions/{action['id']}").json()
        if body["status"] == "DONE":
            return body
        assert time.monotonic() < deadline, "the purge never finished"
        time.sleep(0.1)


def key_cell(response, action_id: str) -> str:
    soup = BeautifulSoup(response.content, "html.parser")
    row = soup.select_one(f'tr[data-id="{action_id}"]')
    assert row is not None, f"{action_id} is not on the page"
    return row.select_one("td.purge-key").get_text(" ", strip=True)


def csv_rows(client, **params) -> dict[str, dict]:
    body = b"".join(client.get(CSV_URL, params).streaming_content).decode()
    return {row["id"]: row for row in csv.DictReader(io.StringIO(body))}


def test_a_key_purged_while_the_dashboard_runs_is_named_after_the_next_sync(
    synced, archive, auditor_client
):
    purge = archive.purge_metadata_key("customer", "loyalty_tier", duration=0.5)
    finish(archive, purge)
    archive.clear_stats()
    progress = run_sync()
    assert archive.count(endpoint=SCHEMAS) == 1 and progress.schema_snapshots == 1
    cell = key_cell(auditor_client.get(PAGE), purge["id"])
    assert cell == "Key: loyalty_tier (from the metadata schema's history)"
    row = csv_rows(auditor_client)[purge["id"]]
    assert (row["key"], row["key_source"]) == ("loyalty_tier", "metadata schema history")


def test_the_dashboards_own_polling_reads_the_schema_when_it_sees_a_new_purge(
    transactional_db, synced, archive, auditor_client
):
    purge = archive.purge_metadata_key("voucher", "store_code", duration=0.5)
    finish(archive, purge)
    archive.clear_stats()
    assert auditor_client.get("/actions/").status_code == 200  # polling reads the newest page
    assert schema_reads.wait_idle()
    assert archive.count(endpoint=SCHEMAS) == 1  # one read, in the background
    archive.clear_stats()
    cell = key_cell(auditor_client.get(PAGE), purge["id"])
    assert cell == "Key: store_code (from the metadata schema's history)"
    assert csv_rows(auditor_client)[purge["id"]]["key"] == "store_code"
    assert auditor_client.get("/actions/").status_code == 200
    assert schema_reads.wait_idle()
    assert archive.count(endpoint=SCHEMAS) == 0  # nothing new: no further read


def test_two_keys_gone_between_the_same_two_snapshots_are_candidates(
    synced, archive, auditor_client
):
    first = archive.purge_metadata_key("customer", "loyalty_tier", duration=0.3)
    second = archive.purge_metadata_key("customer", "birth_date", duration=0.3)
    finish(archive, first), finish(archive, second)
    run_sync()
    page = auditor_client.get(PAGE)
    for purge in (first, second):
        cell = key_cell(page, purge["id"])
        assert cell.startswith("Candidates: birth_date , loyalty_tier")
        assert "several keys left the customer schema between" in cell
        row = csv_rows(auditor_client)[purge["id"]]
        assert row["key"] == "birth_date or loyalty_tier"
        assert row["key_source"] == "candidates from the metadata schema history"


def test_purges_older_than_the_schema_history_say_why_the_key_is_not_known(
    synced, archive, auditor_client
):
    first_read = SchemaSnapshot.objects.order_by("taken_at").first().taken_at
    rows = csv_rows(auditor_client)
    assert len(rows) == 41
    expected = f"not known: no schema history from before {first_read:%Y-%m-%d}"
    assert {row["key_source"] for row in rows.values()} == {expected}
    assert {row["key"] for row in rows.values()} == {""}


def test_a_purge_not_followed_by_a_schema_read_yet_says_so(synced, archive, auditor_client):
    purge = archive.purge_metadata_key("order", "day_of_week", duration=0.3)
    finish(archive, purge)
    archive.set_faults(error_rate=1.0, error_status=503, endpoints=[SCHEMAS])
    progress = run_sync()  # archives the purge; the schema read fails, and the run goes on
    assert progress.problem is None and not progress.upstream_failed
    assert archive.count(endpoint=SCHEMAS, status=503) >= 1
    cell = key_cell(auditor_client.get(PAGE), purge["id"])
    assert cell == "Key not known: no schema read since the purge finished yet"
    archive.clear_faults()
    run_sync()
    assert key_cell(auditor_client.get(PAGE), purge["id"]).startswith("Key: day_of_week")


def test_snapshots_are_kept_only_when_a_schema_changed_and_survive_a_restart(
    synced, archive, auditor_client
):
    count = SchemaSnapshot.objects.count()
    assert count == 7  # one per object type, from the first read
    before = dict(SchemaSnapshot.objects.values_list("related_object", "confirmed_at"))
    run_sync()
    assert SchemaSnapshot.objects.count() == count  # unchanged: no new snapshot
    after = dict(SchemaSnapshot.objects.values_list("related_object", "confirmed_at"))
    assert all(after[related] > before[related] for related in before)  # but confirmed
    purge = archive.purge_metadata_key("product", "origin", duration=0.3)
    finish(archive, purge)
    run_sync()
    assert SchemaSnapshot.objects.count() == count + 1  # only the product schema changed
    # A restart: nothing in memory, no upstream call; the answer comes from the database.
    cache.clear()
    archive.clear_stats()
    assert key_cell(auditor_client.get(PAGE), purge["id"]).startswith("Key: origin")
    assert archive.count() == 0


def test_the_keys_page_shows_when_each_key_was_defined_removed_and_gone(
    synced, archive, auditor_client, emulator_server, monkeypatch
):
    # Long enough that the first sync reads the schema while the purge runs, however busy
    # the machine; then the emulator's clock is moved past its end instead of waiting.
    purge = archive.purge_metadata_key("customer", "loyalty_tier", duration=RUNNING_PURGE_S)
    run_sync()  # while it runs: marked deleted
    assert archive.api(f"/v1/async-actions/{purge['id']}").json()["status"] != "DONE"
    store = emulator_server.emulator.store
    real_clock = store.clock
    monkeypatch.setattr(store, "clock",
                        lambda: real_clock() + timedelta(seconds=RUNNING_PURGE_S))
    finish(archive, purge)
    run_sync()  # after: gone
    soup = BeautifulSoup(auditor_client.get(KEYS).content, "html.parser")
    row = soup.select_one('#schema-customer tr[data-key="loyalty_tier"]')
    defined, removed, gone = (td.get_text(strip=True) for td in row.select("td")[1:])
    assert defined and removed and gone and defined <= removed <= gone
    crm = soup.select_one('#schema-customer tr[data-key="crm_score"]')
    assert crm.select("td")[2].get_text(strip=True) != "—"  # removed, not purged
    assert crm.select("td")[3].get_text(strip=True) == "—"


def test_key_attribution_is_a_function_for_other_modules(synced, archive):
    purge = archive.purge_metadata_key("campaign", "region", duration=0.3)
    finish(archive, purge)
    run_sync()
    from dashboard.history.models import ArchivedAction

    action = ArchivedAction.objects.get(pk=purge["id"])
    found = key_attribution(action)
    assert found.known and found.keys == ("region",) and found.source
    assert key_attribution(action, SchemaHistory.load()) == found


@pytest.mark.parametrize("role, status", [("operator", 403), ("support", 403), ("auditor", 200)])
def test_only_auditors_see_the_keys_page(synced, client_for, role, status):
    assert client_for(role).get(KEYS).status_code == status


def test_a_custom_schema_whose_name_differs_only_in_case_does_not_hide_the_standard_keys(db):
    """related_object is read lower-cased: a custom "Customer" schema listed after the
    standard "customer" one must not replace its keys in the snapshot (the purged key would
    then never have been seen, and no purge could be attributed to it)."""
    from datetime import UTC, datetime

    from dashboard.history.schemas import record_schemas
    from dashboard.voucherify.schemas import schemas_from_list

    def listed(standard_keys: dict) -> list:
        return schemas_from_list({"object": "list", "data_ref": "schemas", "schemas": [
            {"related_object": "customer", "properties": standard_keys},
            {"related_object": "Customer", "properties": {"store": {"type": "string"}}},
        ]})

    start = datetime(2026, 11, 1, 10, tzinfo=UTC)
    record_schemas(listed({"loyalty_tier": {"type": "string", "deleted": True},
                           "crm_score": {"type": "number"}}), now=start)
    record_schemas(listed({"crm_score": {"type": "number"}}), now=start + timedelta(hours=1))
    found = SchemaHistory.load().attribute("customers", start + timedelta(minutes=10),
                                           start + timedelta(minutes=20))
    assert found.known and found.keys == ("loyalty_tier",)
