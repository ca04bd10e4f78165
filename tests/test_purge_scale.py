"""The purge audit and the sync at scale, by what they cost in queries: the CSV reads plain
columns (no JSON) in a fixed number of queries however many purges there are, the purge
cells are worked out once when stored, and a sync fetches its walked purges' details
together instead of after every page. Generated purges through the archive's own code."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.emulator import seed as emulator_seed
from dashboard.emulator.results import PURGE_TYPES
from dashboard.history import purge_cells, purge_reads, purges
from dashboard.history.archive import archive_actions
from dashboard.history.models import ArchivedAction
from dashboard.voucherify.models import Action
from tests.helpers.upstream import run_sync

CSV_URL = "/audit/purges.csv"
# Values a purge's detail may carry besides the generator's own: odd shapes and huge counts.
ODD_RESULTS = [None, "Updated 12 customers.", {"done_count": -5}, {"done_count": 10**30},
               {"message": "Updated " + "9" * 40 + " customers."}, {"done_count": True},
               {"message": "Updated 1,204 customers."}, ["a", "list"]]
ODD_USERS = [None, {"email": "=cmd|' /C calc'!A0"}, {"name": "Ada"}, {"id": "user_1"}, "plain",
             {"email": ""}, []]


def generated_purges(count: int, seed: int) -> list[Action]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    made = []
    for n in range(count):
        created_ms = int((start + timedelta(minutes=rng.randrange(90 * 24 * 60))).timestamp()
                         * 1000)
        fields = {"user": dict(rng.choice(emulator_seed.USERS)), "log_id": f"log_{n}"}
        if rng.random() < 0.4:
            fields["result"] = rng.choice(ODD_RESULTS)
            fields["user"] = rng.choice(ODD_USERS)
        action = emulator_seed.new_action(
            rng, rng.choice(PURGE_TYPES), created_ms, rng.randrange(100, 90_000),
            "FAILED" if rng.random() < 0.1 else "DONE", action_id=f"aa_{seed:04x}{n:014x}",
            **fields)
        made.append(Action.from_json(action.render(created_ms + 10**9)))
    return made


@pytest.fixture
def stored(db):
    def store(count: int, seed: int) -> list[Action]:
        actions = generated_purges(count, seed)
        assert archive_actions(actions, detail=True) == count
        return actions
    return store


def test_the_purge_cells_are_worked_out_when_stored_as_the_json_says(stored):
    actions = {action.id: action for action in stored(120, 1)}
    for row in purges.purge_rows(purges.PurgeFilter()):
        action = actions[row.id]
        assert row.user == purge_cells.user_text(action.raw.get("user"))
        assert row.records_updated == purge_cells.records_updated(action.raw.get("result"))


def test_the_csv_reads_no_json_and_costs_the_same_queries_however_many_purges(
        stored, auditor_client, monkeypatch):
    monkeypatch.setattr(purge_reads, "FETCH", 7)  # many round trips either way

    def export() -> tuple[list[dict], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            body = b"".join(auditor_client.get(CSV_URL).streaming_content).decode()
        return list(csv.DictReader(io.StringIO(body))), [q["sql"] for q in queries]

    auditor_client.get("/audit/purges/")  # the session and permissions are read once
    few = stored(15, 2)
    rows, few_queries = export()
    assert len(rows) == len(few)
    many = stored(150, 3)
    rows, many_queries = export()
    assert len(rows) == len(few) + len(many)
    assert len(many_queries) == len(few_queries)
    reads = [sql for sql in many_queries if 'FROM "history_archivedaction"' in sql]
    assert reads and not any(re.search(r'"(raw|result|user)"', sql) for sql in reads)
    by_id = {action.id: action for action in few + many}
    for row in rows:
        records = purge_cells.records_updated(by_id[row["id"]].raw.get("result"))
        assert row["records_updated"] == ("" if records is None else str(records))
        user = purge_cells.user_text(by_id[row["id"]].raw.get("user")) or ""
        assert row["user"] == ("'" + user if user.startswith(("=", "+", "-", "@")) else user)


def test_a_sync_fetches_its_walked_purges_details_together_not_after_every_page(archive):
    with CaptureQueriesContext(connection) as queries:
        progress = run_sync()
    assert progress.pages == 4 and progress.problem is None
    detail_reads = [q["sql"] for q in queries.captured_queries
                    if '"detail_wanted" =' in q["sql"] and "ORDER BY" in q["sql"]]
    # Before the walk, after it (purges, then FAILED actions), and the empty read ending
    # each: never one per page.
    assert len(detail_reads) <= 5
    assert not ArchivedAction.objects.filter(detail_wanted__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_purges_archived_before_the_columns_get_their_cells_from_the_migration():
    from django.db.migrations.executor import MigrationExecutor

    before = [("history", "0004_failed_items")]
    latest = [(app, name) for app, name in MigrationExecutor(connection).loader.graph.leaf_nodes()
              if app == "history"]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    actions = generated_purges(40, 4)
    try:
        old = executor.loader.project_state(before).apps.get_model("history", "ArchivedAction")
        now = datetime.now(UTC)
        for action in actions:
            old.objects.create(
                id=action.id, type=action.type, context=action.context, status=action.status,
                created_at=action.created_at, updated_at=action.updated_at,
                duration_ms=action.processing_time, request_id=action.request_id,
                user=action.raw.get("user"), result=action.raw.get("result"), raw={},
                has_detail=True, first_seen=now, last_synced=now)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    rows = dict(ArchivedAction.objects.values_list("id", "records_updated"))
    for action in actions:
        records = purge_cells.records_updated(action.raw.get("result"))
        assert rows[action.id] == ("" if records is None else str(records))
    users = dict(ArchivedAction.objects.values_list("id", "started_by"))
    assert users == {a.id: purge_cells.user_text(a.raw.get("user")) or "" for a in actions}
