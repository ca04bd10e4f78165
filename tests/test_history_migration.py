"""Migration 0003_archive_scale carries rows archived before it: result and user leave `raw`
for their columns, the sync's detail flag is set, the rollups are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dashboard.history import charts
from dashboard.history.archive import archived_detail
from dashboard.history.models import ArchivedAction, DayCount, DetailWanted
from tests.test_history_rollups import generated, list_item

BEFORE = [("history", "0001_initial")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_archived_before_the_migration_are_carried():
    latest = [(app, name) for app, name in MigrationExecutor(connection).loader.graph.leaf_nodes()
              if app == "history"]
    executor = migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("history", "ArchivedAction")
        bodies = generated(60, seed=31, days=20)
        now = datetime.now(UTC)
        for index, body in enumerate(bodies):
            detail = index % 2 == 0
            raw = body if detail else list_item(body)
            created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
            old.objects.create(
                id=body["id"], type=body["type"], context=body["type"].split(".")[0][:32],
                status=body["status"], operation_status=body.get("operation_status", ""),
                created_at=created, updated_at=created + timedelta(seconds=1),
                duration_ms=body.get("processing_time"), request_id=body["request_id"],
                user=raw.get("user"), result=raw.get("result"), raw=raw, has_detail=detail,
                first_seen=now, last_synced=now)
    finally:
        migrate(latest)

    for index, body in enumerate(bodies):
        row = ArchivedAction.objects.get(pk=body["id"])
        assert "result" not in row.raw and "user" not in row.raw
        if index % 2 == 0:
            assert row.result == body.get("result") and row.user == body.get("user")
            assert archived_detail(body["id"])[0].raw == body
            assert row.detail_wanted is None
        elif body["status"] == "FAILED" and not body["type"].endswith("METADATA_KEY_PURGE"):
            assert row.detail_wanted == DetailWanted.FAILED
    assert sum(DayCount.objects.values_list("count", flat=True)) == len(bodies)
    data = charts.overview(live=charts.LiveNow())
    assert data.total == len(bodies)
    assert sum(t.total for t in data.types) == len(bodies)
