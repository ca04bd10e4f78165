"""The overview's rollups always equal a recount of the archive, whatever the writes were;
the sync's detail query reads a partial index; result and user are stored once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.emulator import seed as emulator_seed
from dashboard.emulator.results import KNOWN_TYPES
from dashboard.history import rollups
from dashboard.history.archive import (
    archive_action,
    archive_actions,
    archived_detail,
    missing_details,
)
from dashboard.history.models import (
    ArchivedAction,
    DayCount,
    DetailWanted,
    DurationCount,
    WindowDuration,
)
from dashboard.voucherify.models import Action

pytestmark = pytest.mark.django_db

DAY_MS = 86_400_000


def generated(count: int, *, seed: int, days: int = 45) -> list[dict]:
    """Detail-level objects of every type over `days` days (a quarter FAILED)."""
    rng = random.Random(seed)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    bodies = []
    for _ in range(count):
        created = now_ms - rng.randrange(60_000, days * DAY_MS)
        action = emulator_seed.new_action(
            rng, rng.choice(KNOWN_TYPES), created, rng.choice((7, 950, 1234, 65_432, 3_600_000)),
            "FAILED" if rng.random() < 0.25 else "DONE",
            user=dict(rng.choice(emulator_seed.USERS)), log_id="log_1")
        bodies.append(action.render(now_ms, detail=True))
    return bodies


def list_item(body: dict) -> dict:
    return {k: v for k, v in body.items()
            if k not in ("result", "user", "log_id", "processing_time")}


def snapshot() -> tuple[list, list, list]:
    return (
        sorted(DayCount.objects.values_list("day", "type", "status", "failed", "count")),
        sorted(DurationCount.objects.values_list("day", "type", "bucket_ms", "count")),
        sorted(WindowDuration.objects.values_list("type", "bucket_ms", "count")),
    )


def recounted(today) -> tuple[list, list, list]:
    rollups.rebuild()
    rollups.roll_window(today)
    return snapshot()


def test_the_rollups_equal_a_recount_after_list_items_details_repeats_and_changes():
    today = datetime.now(UTC).date()
    rollups.roll_window(today)  # the window is kept incrementally from here on
    bodies = generated(400, seed=3)
    half = len(bodies) // 2
    archive_actions([Action.from_json(list_item(b)) for b in bodies[:half]])
    archive_actions([Action.from_json(list_item(b)) for b in bodies[:half]])  # again: nothing
    for body in bodies[half // 2:]:  # details: half of them over their list item
        archive_action(Action.from_json(body))
        archive_action(Action.from_json(body))  # the same detail twice
    for body in bodies[:40]:  # the detail says otherwise: duration and operation status
        archive_action(Action.from_json(
            {**body, "processing_time": body.get("processing_time", 0) + 12_345,
             "operation_status": "FAILED"}))
    incremental = snapshot()
    assert sum(row[-1] for row in incremental[0]) == ArchivedAction.objects.count() == 400
    assert incremental == recounted(today)


def test_the_window_rolls_to_the_next_day_as_a_recount_would():
    today = datetime.now(UTC).date()
    rollups.roll_window(today)
    for body in generated(300, seed=5, days=40):
        archive_action(Action.from_json(body))
    tomorrow = today + timedelta(days=1)
    rollups.roll_window(tomorrow)  # one day leaves the window
    rolled = snapshot()
    assert rolled[2] and rolled == recounted(tomorrow)
    left = sum(n for day, _, _, n in rolled[1] if day < rollups.window_start(tomorrow))
    assert left > 0  # the test did move actions out of the window


@pytest.mark.parametrize("duration, bucket", [
    (0, 0), (7, 7), (99, 99), (100, 100), (1234, 1200), (1900, 1900), (65_432, 65_000),
    (3_600_000, 3_600_000), (3_649_999, 3_600_000),
])
def test_durations_are_counted_to_two_significant_digits(duration, bucket):
    assert rollups.bucket_of(duration) == bucket


def test_the_detail_query_reads_the_partial_index_in_one_query_whatever_the_archive_holds():
    bodies = generated(300, seed=9)
    for body in bodies:
        archive_action(Action.from_json(body))  # every FAILED one has its detail
    pending = [Action.from_json(list_item(b)) for b in generated(30, seed=10)]
    archive_actions(pending)
    expected = sorted(
        (a for a in pending if a.status == "FAILED" and a.context != "METADATA_KEY_PURGE"),
        key=lambda a: (a.created_at, a.id),
        reverse=True)
    with CaptureQueriesContext(connection) as queries:
        ids = missing_details(purges_only=False, limit=5)
    assert len(queries.captured_queries) == 1
    assert ids == [a.id for a in expected[:5]]
    plan = str(ArchivedAction.objects.filter(detail_wanted=DetailWanted.FAILED)
               .order_by("-created_at", "-id").values("pk").explain())
    assert "history_detail_wanted_idx" in plan
    purge = next(a for a in pending if a.context == "METADATA_KEY_PURGE")
    assert purge.id in missing_details(purges_only=True, limit=100)
    archive_action(Action.from_json(next(b for b in generated(30, seed=10) if b["id"] == purge.id)))
    assert purge.id not in missing_details(purges_only=True, limit=100)


def test_result_and_user_are_stored_once_and_read_back_whole():
    body = next(b for b in generated(50, seed=11) if b.get("result"))
    archive_action(Action.from_json(body))
    row = ArchivedAction.objects.get(pk=body["id"])
    assert "result" not in row.raw and "user" not in row.raw
    assert row.result == body["result"] and row.user == body["user"]
    restored, _ = archived_detail(body["id"])
    assert restored.raw == body
