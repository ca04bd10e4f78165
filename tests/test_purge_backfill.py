"""Complete months: the audit says what the archive does not hold yet, and an auditor fetches
it from the page (background, bounded, one at a time, progress shown, purges' details first)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from dashboard.history import backfill
from dashboard.history.models import ArchivedAction, BackfillRun
from dashboard.history.state import acquire_lock, release_lock
from tests.helpers.upstream import run_sync, upstream_history

PAGE = "/audit/purges/"
START, PROGRESS = "/audit/purges/backfill/start/", "/audit/purges/backfill/"


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def test_an_incomplete_archive_is_said_in_plain_words_and_backfilled_from_the_page(
    transactional_db, archive, auditor_client
):
    run_sync(max_calls=2)  # the newest pages only
    page = soup_of(auditor_client.get(PAGE))
    notice = page.select_one("form.purge-incomplete")
    assert notice is not None
    assert "This list is not complete yet: the archive does not hold the purges from before" \
        in notice.get_text(" ", strip=True)
    archive.clear_stats()
    response = auditor_client.post(START)
    assert response.status_code == 302 and response["Location"].endswith("#backfill")
    assert backfill.wait_idle()
    run = BackfillRun.objects.get()
    assert run.state == BackfillRun.DONE and run.requested_by == "auditor-user"
    assert 0 < run.calls == archive.count() <= run.max_calls  # bounded, counted upstream
    truth = [a for a in upstream_history(archive) if a["type"].endswith(".METADATA_KEY_PURGE")]
    purges = ArchivedAction.objects.filter(context="METADATA_KEY_PURGE")
    assert purges.count() == len(truth) == 41
    assert not purges.filter(has_detail=False).exists()  # who and how many: known for all
    page = soup_of(auditor_client.get(PAGE))
    assert page.select_one("form.purge-incomplete") is None
    assert page.select_one(".purge-partial") is None
    finished = page.select_one("#backfill").get_text(" ", strip=True)
    assert finished.startswith("Backfill finished (started by auditor-user")
    assert f"{run.calls} of {run.max_calls} calls" in finished


def test_the_progress_panel_polls_while_running_and_stops_when_done(
    transactional_db, archive, auditor_client
):
    run = BackfillRun.objects.create(requested_by="someone", max_calls=10,
                                     state=BackfillRun.RUNNING, pages=2, archived=150, calls=3)
    owner = "test-run"
    assert acquire_lock(owner)
    try:
        live = auditor_client.get(PROGRESS)
        assert live.status_code == 200
        panel = soup_of(live).select_one("#backfill")
        assert panel["hx-get"] == PROGRESS and "every 2s" in panel["hx-trigger"]
        assert "2 pages, 150 actions archived, 0 details, 3 of 10 calls" in panel.get_text(" ")
        # One at a time: a second start while one runs starts nothing.
        response = auditor_client.post(START, follow=True)
        assert "A backfill is already running" in response.content.decode()
        assert BackfillRun.objects.count() == 1
    finally:
        release_lock(owner)
    BackfillRun.objects.filter(pk=run.pk).update(state=BackfillRun.DONE)
    done = auditor_client.get(PROGRESS)
    assert done.status_code == 286  # htmx stops polling
    assert not soup_of(done).select_one("#backfill").has_attr("hx-get")


def test_no_backfill_starts_while_sync_actions_holds_the_lock(
    transactional_db, archive, auditor_client
):
    assert acquire_lock("cron:sync_actions")
    try:
        response = auditor_client.post(START, follow=True)
        assert "sync_actions is running right now" in response.content.decode()
        assert not BackfillRun.objects.exists()
    finally:
        release_lock("cron:sync_actions")


def test_a_backfill_from_a_filter_goes_back_no_further_than_its_start(
    transactional_db, archive, auditor_client
):
    run_sync(max_calls=1)
    newest = ArchivedAction.objects.order_by("created_at").first().created_at
    day = newest.date().isoformat()
    assert soup_of(auditor_client.get(PAGE, {"from": day})).select_one("form.purge-incomplete")
    auditor_client.post(START, {"from": day})
    assert backfill.wait_idle()
    run = BackfillRun.objects.get()
    assert run.since.date().isoformat() == day and run.state == BackfillRun.DONE
    assert soup_of(auditor_client.get(PAGE, {"from": day})).select_one(
        "form.purge-incomplete") is None


@pytest.mark.parametrize("role", ["operator", "support"])
def test_only_auditors_start_a_backfill(db, client_for, role):
    assert client_for(role).post(START).status_code == 403
    assert not BackfillRun.objects.exists()
