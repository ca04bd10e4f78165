"""Idempotent upserts: one row per action, and a detail record never loses its result."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.history.archive import (
    archive_action,
    archive_actions,
    archived_detail,
    is_detail_level,
    row_fields,
)
from dashboard.history.models import ArchivedAction, DetailWanted
from dashboard.history.new_rows import insert_new
from dashboard.voucherify.models import Action

pytestmark = pytest.mark.django_db

DETAIL = {
    "id": "aa_0c5543f00797b6113f", "object": "async_action", "type": "CUSTOMERS.IMPORT_CSV",
    "status": "DONE", "progress": 100, "created_at": "2026-11-01T10:00:00.000Z",
    "updated_at": "2026-11-01T10:00:04.500Z", "request_id": "v-0c5543f00797b6113f",
    "processing_time": 4321, "user": {"email": "ada@example.com"}, "log_id": "log_1",
    "result": {"message": "9 customer(s) imported successfully, 1 failed.", "done_count": 9,
               "failed_count": 1, "failed": [{"row": 3, "reason": "email: bad"}]},
}
LIST_ITEM = {k: v for k, v in DETAIL.items()
             if k not in ("result", "user", "log_id", "processing_time")}


def action(body: dict, **changes) -> Action:
    return Action.from_json({**body, **changes})


def test_the_same_detail_twice_makes_one_row_and_changes_nothing_the_second_time():
    assert archive_action(action(DETAIL)) is True
    assert archive_action(action(DETAIL)) is False
    assert ArchivedAction.objects.count() == 1


def test_the_same_list_item_twice_makes_one_row():
    assert archive_actions([action(LIST_ITEM), action(LIST_ITEM)]) == 1
    assert archive_actions([action(LIST_ITEM)]) == 0
    assert ArchivedAction.objects.count() == 1


def test_a_list_item_after_the_detail_keeps_the_result_user_and_processing_time():
    archive_action(action(DETAIL))
    assert archive_action(action(LIST_ITEM)) is False
    assert archive_actions([action(LIST_ITEM)]) == 0
    row = ArchivedAction.objects.get()
    assert row.has_detail and row.result["done_count"] == 9
    assert row.user == {"email": "ada@example.com"} and row.log_id == "log_1"
    assert row.processing_time == 4321 and row.duration_ms == 4321
    restored, _ = archived_detail(DETAIL["id"])
    assert restored.result.failed_count == 1 and restored.result.failed[0].row == 3


def test_a_detail_after_the_list_item_completes_the_row():
    archive_actions([action(LIST_ITEM)])
    row = ArchivedAction.objects.get()
    assert not row.has_detail and row.result is None
    assert row.duration_ms == 4500  # updated_at - created_at while processing_time is unknown
    assert archived_detail(DETAIL["id"]) is None
    assert archive_action(action(DETAIL)) is True
    row.refresh_from_db()
    assert row.has_detail and row.result["failed_count"] == 1 and row.context == "CUSTOMERS"


@pytest.mark.parametrize("status", ["ENQUEUED", "IN_PROGRESS", "SOMETHING_NEW"])
def test_actions_that_have_not_finished_are_not_archived(status):
    assert archive_action(action(DETAIL, status=status)) is False
    assert archive_actions([action(LIST_ITEM, status=status)]) == 0
    assert not ArchivedAction.objects.exists()


def test_an_id_longer_than_the_archive_key_is_left_out_and_the_rest_of_its_page_kept():
    """No documented id is longer than 64 characters; one that was would fail its page's whole
    insert on PostgreSQL (tests/test_replicas.py), every time the page was read."""
    long_id = "aa_" + "f" * 62
    page = [action(LIST_ITEM, id=long_id), action(LIST_ITEM, id="aa_0c5543f00797b61140")]
    assert archive_actions(page) == 1
    assert archive_actions(page, detail=True) == 1  # the other one improved
    assert archive_action(action(DETAIL, id=long_id)) is False
    assert list(ArchivedAction.objects.values_list("pk", flat=True)) == ["aa_0c5543f00797b61140"]


def test_a_type_nobody_documented_is_archived_under_other():
    archive_action(action(DETAIL, type="LOYALTY.MEMBERS_BATCH_CREATE"))
    assert ArchivedAction.objects.get().context == "OTHER"


@pytest.mark.parametrize("body, expected", [(DETAIL, True), (LIST_ITEM, False)])
def test_detail_level_is_judged_from_the_fields_only_the_detail_has(body, expected):
    assert is_detail_level(action(body)) is expected


FAILED_ITEM = {**LIST_ITEM, "id": "aa_0c5543f00797b61140", "status": "FAILED",
               "operation_status": "FAILED", "updated_at": None}
PURGE_ITEM = {**LIST_ITEM, "id": "aa_0c5543f00797b61141", "type": "VOUCHERS.METADATA_KEY_PURGE",
              "request_id": None}
STORED = [field.name for field in ArchivedAction._meta.concrete_fields if field.name != "id"]


def test_list_items_are_stored_as_the_orm_stores_them():
    """The raw INSERT (new_rows.py) writes what bulk_create wrote for the same values."""
    items = [action(body) for body in (LIST_ITEM, FAILED_ITEM, PURGE_ITEM)]
    assert archive_actions(items) == 3
    ours = {row["id"]: row for row in ArchivedAction.objects.values("id", *STORED)}
    first_seen = ours[LIST_ITEM["id"]]["first_seen"]
    ArchivedAction.objects.bulk_create([
        ArchivedAction(id=f"orm_{item.id}", **row_fields(item, False), first_seen=first_seen,
                       last_synced=first_seen) for item in items])
    for item in items:
        orm = ArchivedAction.objects.values(*STORED).get(id=f"orm_{item.id}")
        assert {name: ours[item.id][name] for name in STORED} == orm
    assert ours[FAILED_ITEM["id"]]["detail_wanted"] == DetailWanted.FAILED
    assert ours[PURGE_ITEM["id"]]["detail_wanted"] == DetailWanted.PURGE


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "read-back"])
def test_a_row_another_process_stored_first_is_left_as_it_is_and_not_counted_as_inserted(
    monkeypatch, returning
):
    """Between this process's look for known ids and its insert, another stored the detail:
    the insert neither overwrites it nor reports it (SQLite before 3.35 has no RETURNING)."""
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", returning)
    archive_action(action(DETAIL))
    now = timezone.now()
    rows = {item.id: {**row_fields(item, False), "first_seen": now, "last_synced": now}
            for item in (action(LIST_ITEM), action(FAILED_ITEM))}
    assert insert_new(rows, now) == {FAILED_ITEM["id"]}
    kept = ArchivedAction.objects.get(id=DETAIL["id"])
    assert kept.has_detail and kept.result["done_count"] == 9 and kept.log_id == "log_1"
    assert ArchivedAction.objects.count() == 2


def test_new_list_items_cost_one_insert_per_batch_and_are_not_read_back():
    """Which ids are known, one INSERT per batch (it tells which rows it stored), the rollups:
    nothing more for 100 items than for 10."""
    items = [action(LIST_ITEM, id=f"aa_{n:018d}") for n in range(111)]
    archive_actions(items[:1])  # the rollups' window row exists

    def statements(batch: list[Action]) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert archive_actions(batch) == len(batch)
        return [query["sql"] for query in captured.captured_queries]

    few, many = statements(items[1:11]), statements(items[11:])
    inserts = [sql for sql in many if sql.startswith('INSERT INTO "history_archivedaction"')]
    size = connection.ops.bulk_batch_size(ArchivedAction._meta.concrete_fields, items)
    assert len(inserts) == -(-100 // size)
    assert len(many) == len(few) + len(inserts) - 1, "\n".join(many)
    assert not [sql for sql in many[many.index(inserts[-1]):]
                if 'FROM "history_archivedaction"' in sql]
