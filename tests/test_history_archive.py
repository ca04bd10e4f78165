"""Idempotent upserts: one row per action, and a detail record never loses its result."""

from __future__ import annotations

import pytest

from dashboard.history.archive import (
    archive_action,
    archive_actions,
    archived_detail,
    is_detail_level,
)
from dashboard.history.models import ArchivedAction
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


def test_a_type_nobody_documented_is_archived_under_other():
    archive_action(action(DETAIL, type="LOYALTY.MEMBERS_BATCH_CREATE"))
    assert ArchivedAction.objects.get().context == "OTHER"


@pytest.mark.parametrize("body, expected", [(DETAIL, True), (LIST_ITEM, False)])
def test_detail_level_is_judged_from_the_fields_only_the_detail_has(body, expected):
    assert is_detail_level(action(body)) is expected
