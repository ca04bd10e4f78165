"""The archive behind the pages: detail pages and history filters with no upstream call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache

from dashboard.history import polling_archive
from dashboard.history.models import ArchivedAction, SyncState
from dashboard.polling import reads as upstream
from dashboard.voucherify import catalog
from dashboard.voucherify.dates import parse_timestamp
from dashboard.voucherify.models import Action
from tests.fixtures.polling import POLL_MEMORY_SECONDS
from tests.helpers.html import row_ids
from tests.helpers.upstream import DETAIL, LIST, insert_terminal, upstream_history


def test_an_archived_action_detail_page_makes_no_upstream_call(synced, archive, operator_client):
    purge = ArchivedAction.objects.filter(context="METADATA_KEY_PURGE", has_detail=True).first()
    cache.clear()  # nothing in the polling layer's cache: only the archive can serve it
    response = operator_client.get(f"/actions/{purge.id}/")
    assert response.status_code == 200
    assert archive.count() == 0
    assert purge.result["message"] in response.content.decode()


def test_a_detail_read_once_is_archived_and_later_served_without_a_call(
    archive, operator_client
):
    body = insert_terminal(archive, "aa_0000000000000000d1", type_="CUSTOMERS.IMPORT_CSV",
                           result={"message": "3 customer(s) imported successfully, 0 failed.",
                                   "done_count": 3, "failed_count": 0, "failed": []})
    archive.clear_stats()
    assert operator_client.get(f"/actions/{body['id']}/").status_code == 200
    assert archive.count(endpoint=DETAIL) == 1
    assert ArchivedAction.objects.get(pk=body["id"]).has_detail
    cache.clear()  # a restart, another process, an evicted cache
    response = operator_client.get(f"/actions/{body['id']}/")
    assert response.status_code == 200 and archive.count() == 1
    assert "3 customer(s) imported successfully" in response.content.decode()


def test_a_first_detail_read_writes_the_archive_once(archive, operator_client, monkeypatch):
    """The read that brings a finished action's result archives it as the cache keeps it; the
    page does not write the same action again."""
    written = []
    for name in ("archive_detail", "archive_action"):
        original = getattr(polling_archive, name)
        monkeypatch.setattr(polling_archive, name, lambda *args, _original=original,
                            _name=name, **kwargs: written.append(_name) or _original(
                                *args, **kwargs))
    body = insert_terminal(archive, "aa_0000000000000000d2", type_="CUSTOMERS.IMPORT_CSV",
                           result={"message": "3 customer(s) imported successfully, 0 failed.",
                                   "done_count": 3, "failed_count": 0, "failed": []})
    assert operator_client.get(f"/actions/{body['id']}/").status_code == 200
    assert written == ["archive_detail"]
    assert ArchivedAction.objects.get(pk=body["id"]).has_detail


def test_list_pages_the_dashboard_reads_are_archived_at_list_level(archive, db):
    fetched = upstream.fetch_page(limit=100)
    terminal = [a.id for a in fetched.value.actions if a.is_terminal]
    assert set(ArchivedAction.objects.values_list("pk", flat=True)) == set(terminal)
    assert not ArchivedAction.objects.filter(has_detail=True).exists()
    upstream.fetch_page(limit=100)  # served from the polling cache: nothing written again
    assert ArchivedAction.objects.count() == len(terminal)


def test_the_newest_page_keeps_the_covered_range_up_to_date(synced, archive, db):
    before = SyncState.load().covered_to
    new = insert_terminal(archive, "aa_0000000000000000e1")
    upstream.fetch_page(limit=25)
    assert ArchivedAction.objects.filter(pk=new["id"]).exists()
    assert SyncState.load().covered_to == parse_timestamp(new["created_at"]) > before


def test_an_action_dated_days_ahead_on_the_newest_page_does_not_lift_the_covered_range(
        synced, archive, db):
    future = insert_terminal(archive, "aa_0000000000future03", minutes_old=-(60 * 24 * 2))
    new = insert_terminal(archive, "aa_0000000000000000e2")
    upstream.fetch_page(limit=25)
    assert ArchivedAction.objects.filter(pk=future["id"]).exists()
    # Up to the newest action dated now, not over the two days no read has seen yet.
    assert SyncState.load().covered_to == parse_timestamp(new["created_at"])


def test_a_database_fault_never_breaks_a_page(archive, operator_client, monkeypatch):
    from django.db import DatabaseError

    from dashboard.history import polling_archive as hooks

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(hooks, "archive_actions", broken)
    monkeypatch.setattr(hooks, "archived_detail", broken)
    assert operator_client.get("/actions/").status_code == 200
    action_id = upstream_history(archive)[0]["id"]
    assert operator_client.get(f"/actions/{action_id}/").status_code == 200


FILTERS = [
    {"context": "CUSTOMERS", "status": "FAILED"},
    {"type": "CUSTOMERS.IMPORT_CSV"},
    {"context": "METADATA_KEY_PURGE"},
]


def truth_for(emulator, params: dict) -> list[str]:
    return [
        a["id"] for a in upstream_history(emulator)
        if ("context" not in params or catalog.context_of(a["type"]) == params["context"])
        and ("type" not in params or a["type"] == params["type"])
        and ("status" not in params or a["status"] == params["status"])
    ]


@pytest.mark.parametrize("params", FILTERS)
def test_history_filters_are_served_from_the_archive_once_synced(
    synced, archive, operator_client, params
):
    pages, said, url = [], [], "/actions/?" + "&".join(f"{k}={v}" for k, v in params.items())
    while url:
        response = operator_client.get(url, follow=True)
        assert response.status_code == 200
        pages.append(row_ids(response))
        soup = BeautifulSoup(response.content, "html.parser")
        older = soup.select_one(".pager-top .pager-older")
        url = older["href"] if older is not None and older.has_attr("href") else None
        said.append(soup.select_one(".archive-source") is not None)
    # One upstream call at most: the shared newest page, where actions may still run.
    assert archive.count() <= 1
    assert all(said)  # every page's older part came from the archive, and says so
    assert [i for page in pages for i in page] == truth_for(archive, params)


def test_an_older_filtered_page_costs_no_upstream_call(synced, archive, operator_client):
    cursor = SyncState.load().covered_to.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    response = operator_client.get(f"/actions/?context=CUSTOMERS&status=FAILED&end_date={cursor}",
                                   follow=True)
    assert response.status_code == 200 and archive.count() == 0
    soup = BeautifulSoup(response.content, "html.parser")
    assert "Served from the archive" in soup.select_one(".archive-source").get_text()
    assert row_ids(response)


def test_without_a_sync_the_list_scans_the_upstream_and_says_nothing_of_the_archive(
    archive, operator_client
):
    response = operator_client.get("/actions/?context=CUSTOMERS&status=FAILED", follow=True)
    assert response.status_code == 200 and archive.count(endpoint=LIST) >= 1
    assert BeautifulSoup(response.content, "html.parser").select_one(".archive-source") is None


def test_the_same_read_of_a_finished_action_is_archived_once(db, django_assert_num_queries):
    """A list poll sees the same finished rows on every pass: each read of one is written to
    the archive once; a new read is written again."""
    archive = polling_archive.DatabaseArchive()
    action = Action.from_json({
        "id": "aa_0000000000000000e1", "type": "VOUCHERS.IMPORT", "status": "DONE",
        "created_at": "2026-11-29T10:00:00.000Z", "updated_at": "2026-11-29T10:01:00.000Z",
        "progress": 100, "object": "async_action"})
    read_at = datetime(2026, 11, 29, 10, 2, tzinfo=UTC)
    archive.saw_action(action, detail=False, read_at=read_at)
    assert ArchivedAction.objects.filter(pk=action.id).exists()

    with django_assert_num_queries(0):
        for _ in range(3):
            archive.saw_action(action, detail=False, read_at=read_at)
    ArchivedAction.objects.filter(pk=action.id).delete()
    archive.saw_action(action, detail=False, read_at=read_at + timedelta(seconds=2))
    assert ArchivedAction.objects.filter(pk=action.id).exists()


def test_an_action_the_archive_lacks_is_looked_up_once_a_moment(
    db, memory_clock, django_assert_num_queries
):
    """The polls of a finished action whose result is still to be read ask the archive for it
    once per process moment (POLL_MEMORY_SECONDS), not each."""
    archive = polling_archive.DatabaseArchive()
    with django_assert_num_queries(1):
        for _ in range(3):
            assert archive.archived("aa_0000000000000000e2") is None
    memory_clock[0] += POLL_MEMORY_SECONDS + 1
    with django_assert_num_queries(1):
        assert archive.archived("aa_0000000000000000e2") is None
