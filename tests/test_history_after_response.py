"""Work a request sets going (a big result's rows stored in a thread) starts once the request
has answered, at once outside a request, and is never lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.signals import request_finished, request_started

from dashboard import after_response
from dashboard.history import rows_later
from dashboard.history.archive import archive_detail
from dashboard.history.models import ArchivedAction, FailedItem, FailureSummary
from dashboard.voucherify.models import Action


@pytest.fixture(autouse=True)
def outside_a_request():
    yield
    after_response._run_pending()  # nothing a test put off leaks into the next


def test_outside_a_request_the_work_starts_at_once():
    done = []
    after_response.run(lambda: done.append(1))
    assert done == [1]


def test_during_a_request_the_work_starts_once_it_has_answered():
    done = []
    request_started.send(sender=None)
    after_response.run(lambda: done.append(1))
    after_response.run(lambda: done.append(2))
    assert done == []
    request_finished.send(sender=None)
    assert done == [1, 2]
    after_response.run(lambda: done.append(3))  # between requests: at once
    assert done == [1, 2, 3]


def test_the_work_of_a_request_never_closed_starts_with_the_next_one():
    done = []
    request_started.send(sender=None)
    after_response.run(lambda: done.append(1))
    request_started.send(sender=None)
    assert done == [1]


def test_work_that_fails_is_logged_and_the_rest_still_runs(caplog):
    done = []
    request_started.send(sender=None)
    after_response.run(lambda: 1 / 0)
    after_response.run(lambda: done.append(2))
    request_finished.send(sender=None)  # no exception reaches the server's close()
    assert done == [2]
    assert "Work put off until a request had answered failed" in caplog.text


def big_result(count: int) -> dict:
    failed = [{"code": f"C-{n}", "row": n + 1, "reason": f"reason {n % 3}"} for n in range(count)]
    return {"message": f"{count} failed.", "failed_count": count, "failed": failed}


@pytest.mark.django_db(transaction=True)
def test_a_first_read_stores_the_big_result_rows_after_its_page_has_answered():
    action = Action.from_json({
        "id": "aa_0c5543f00797b61199", "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
        "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-01T10:00:09.000Z",
        "result": big_result(rows_later.LATER_FROM)})
    request_started.send(sender=None)
    archive_detail(action, rows_later=True)
    rows_later.wait_all()
    # Not started yet: not even the action's row, which the thread writes first.
    assert not ArchivedAction.objects.filter(pk=action.id).exists()
    assert not FailureSummary.objects.filter(pk=action.id).exists()
    assert rows_later.storing_here(action.id)  # its panel is loading meanwhile
    request_finished.send(sender=None)
    rows_later.wait_all()
    assert FailureSummary.objects.get(pk=action.id).complete
    assert FailedItem.objects.filter(action_id=action.id).count() == rows_later.LATER_FROM


@pytest.mark.django_db(transaction=True)
def test_a_page_read_is_archived_once_its_answer_is_sent():
    """The list page (or the poll whose read refreshed it) does not wait for the archive's
    inserts: they run when the request has answered."""
    from dashboard.history.polling_archive import DatabaseArchive
    from dashboard.voucherify.models import ActionPage

    actions = [Action.from_json({
        "id": f"aa_0c5543f00797b612{n:02d}", "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
        "created_at": f"2026-11-01T10:{n:02d}:00.000Z",
        "updated_at": f"2026-11-01T10:{n:02d}:09.000Z"}) for n in range(30)]
    request_started.send(sender=None)
    DatabaseArchive().saw_page(ActionPage(actions=actions, has_more=True), None,
                               datetime.now(UTC))
    assert not ArchivedAction.objects.exists()  # not while the page renders
    request_finished.send(sender=None)
    assert ArchivedAction.objects.count() == 30
