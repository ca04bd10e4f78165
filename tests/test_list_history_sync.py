"""Filters are complete where the archive holds their range, say which dates are not read yet
where it does not, and people with the start_sync permission read those dates from the list
(issue 17, item 5): in the background, bounded, one at a time, within the shared budget."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.history import backfill
from dashboard.history.models import ArchivedAction, BackfillRun, SyncState
from dashboard.history.state import acquire_lock, release_lock
from dashboard.polling import budget
from tests.helpers.html import soup, text
from tests.helpers.upstream import fresh_layer, live_action, run_sync, upstream_history

LIST = "/v1/async-actions"
START, PROGRESS = "/actions/history-sync/", "/actions/history-sync/progress/"
FAILED = "/actions/?status=FAILED&limit=100"


def failed_upstream(emulator) -> int:
    return sum(1 for item in upstream_history(emulator) if item["status"] == "FAILED")


def start(client, query: str = "?status=FAILED&limit=100", **kwargs):
    return client.post(START, {"next": query}, **kwargs)


def test_a_filter_the_archive_covers_is_complete_and_counts_every_match(
    synced, archive, support_client
):
    truth = failed_upstream(archive)
    archive.clear_stats()
    with CaptureQueriesContext(connection) as queries:
        response = support_client.get("/actions/?status=FAILED")
    notice = text(response, ".scan-notice")
    assert notice.startswith(f"Complete: {truth} actions match these filters, from ")
    assert "the newest 25 are here, Older shows the rest" in notice
    assert "scanned" not in notice and "partial" not in notice
    assert soup(response).select_one(".scan-notice.complete") is not None
    assert soup(response).select_one("form.history-sync-start") is None  # nothing to read
    assert archive.count(endpoint=LIST) == 1  # the newest page; the rest from the archive
    # One COUNT for the total, whatever the archive holds (a hot path: no query per row).
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()
              and "history_archivedaction" in q["sql"]]
    assert len(counts) == 1


def test_a_complete_filter_costs_the_same_queries_whatever_its_page_size(
    synced, archive, operator_client
):
    covered = SyncState.load().covered_to.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    operator_client.get(f"/actions/?status=DONE&end_date={covered}")  # the login, cached
    spent = []
    for limit in (10, 50):  # older pages, answered by the archive alone
        with CaptureQueriesContext(connection) as queries:
            response = operator_client.get(f"/actions/?status=DONE&limit={limit}"
                                           f"&end_date={covered}")
        assert text(response, ".scan-notice").startswith("Complete: ")
        assert len(soup(response).select("tbody tr[id^=row-]")) == limit
        spent.append(len(queries.captured_queries))
    assert spent[0] == spent[1]  # no query per row or per archived action
    assert archive.count(endpoint=LIST) == 0


def test_a_live_status_is_complete_once_the_archive_reaches_the_oldest_action(
    synced, archive, operator_client
):
    running = live_action(archive, status="IN_PROGRESS")
    response = operator_client.get("/actions/?status=IN_PROGRESS")
    live = [i["id"] for i in upstream_history(archive) if i["status"] == "IN_PROGRESS"]
    assert running in live
    notice = text(response, ".scan-notice")
    assert notice.startswith(f"Complete: all {len(live)} matching action")
    assert "have not all been read" not in notice


def test_an_unread_range_is_named_and_support_reads_it_from_the_list(
    transactional_db, archive, support_client, settings
):
    settings.ACTIONS_SCAN_BUDGET = 1
    before = support_client.get(FAILED)
    notice = text(before, ".scan-notice")
    assert "These results are partial" in notice
    assert "have not all been read yet, so older matches may be missing" in notice
    assert "scanned" not in notice and "Complete" not in notice
    form = soup(before).select_one("form.history-sync-start")
    assert form is not None and form["action"] == START
    assert "at most 300 requests to Voucherify" in form.get_text(" ")

    archive.clear_stats()
    response = start(support_client)
    assert response.status_code == 302
    assert response["Location"] == "/actions/?status=FAILED&limit=100#history-sync"
    assert backfill.wait_idle()
    run = BackfillRun.objects.get()
    assert run.state == BackfillRun.DONE and run.requested_by == "support-user"
    assert 0 < run.calls == archive.count() <= run.max_calls  # bounded, all counted upstream
    assert SyncState.load().bottom_reached

    progress = support_client.get(PROGRESS)  # the page's poll: done, so the page reloads
    assert progress.status_code == 200 and progress["HX-Refresh"] == "true"
    after = support_client.get(FAILED)
    notice = text(after, ".scan-notice")
    truth = failed_upstream(archive)
    assert notice.startswith(f"Complete: all {truth} matching actions are listed here")
    assert soup(after).select_one("form.history-sync-start") is None
    assert soup(after).select_one("#history-sync") is None


def test_a_bounded_run_claims_only_what_it_read(transactional_db, archive, support_client,
                                                settings):
    settings.ACTIONS_SCAN_BUDGET = 1
    settings.HISTORY_SYNC_MAX_CALLS = 2
    archive.clear_stats()
    start(support_client)
    assert backfill.wait_idle()
    run = BackfillRun.objects.get()
    assert run.calls == archive.count() == 2 and run.max_calls == 2
    state = SyncState.load()
    assert not state.bottom_reached and state.covered_from is not None
    notice = text(support_client.get(FAILED), ".scan-notice")
    assert "Complete" not in notice
    assert "have not all been read" in notice


def test_people_without_the_role_see_no_button_and_are_refused(
    transactional_db, archive, operator_client, settings
):
    settings.ACTIONS_SCAN_BUDGET = 1
    page = operator_client.get(FAILED)
    assert soup(page).select_one("form.history-sync-start") is None
    assert "Someone with the support or auditor role can read the missing history" in text(
        page, ".history-sync-ask")
    archive.clear_stats()
    assert start(operator_client).status_code == 403
    assert operator_client.get(START).status_code in (403, 405)
    assert not BackfillRun.objects.exists() and archive.count() == 0


def test_a_spent_budget_starts_nothing_and_says_so(transactional_db, emulator, settings,
                                                    support_client):
    fresh_layer(emulator, settings, calls_per_minute=3, reserve=0)
    for _ in range(3):
        budget.spend(background=False)
    response = start(support_client, follow=True)
    message = text(response, ".messages")
    assert "The calls the dashboard may make to Voucherify this minute are used up" in message
    assert "nothing was started. Try again in about" in message
    assert not BackfillRun.objects.exists() and emulator.count() == 0


def test_a_second_start_while_one_runs_starts_nothing(transactional_db, archive, auditor_client,
                                                      settings):
    settings.ACTIONS_SCAN_BUDGET = 1
    run = BackfillRun.objects.create(requested_by="someone", max_calls=300,
                                     state=BackfillRun.RUNNING, pages=2, archived=150, calls=3)
    owner = "test-run"
    assert acquire_lock(owner)
    try:
        page = auditor_client.get(FAILED)
        panel = soup(page).select_one("#history-sync .sync-progress")
        assert panel["hx-get"] == PROGRESS and "every 2s" in panel["hx-trigger"]
        assert "3 of at most 300 requests used" in panel.get_text(" ")
        assert soup(page).select_one("form.history-sync-start") is None  # no second button
        response = start(auditor_client, follow=True)
        assert "already running" in text(response, ".messages")
        assert BackfillRun.objects.count() == 1
        assert auditor_client.get(PROGRESS).status_code == 200  # still polling
    finally:
        release_lock(owner)
    BackfillRun.objects.filter(pk=run.pk).update(state=BackfillRun.DONE)


def test_two_starts_at_the_same_moment_make_one_run(transactional_db, archive, settings,
                                                    monkeypatch):
    """Two people press the button at once: both requests find no run yet (current() read
    before either created one); the sync lock, taken before the run exists, lets one in."""
    settings.HISTORY_SYNC_MAX_CALLS = 2
    monkeypatch.setattr(backfill, "current", lambda: None)
    # The first run's first call waits upstream: it still holds the lock when the second start
    # comes, however long a busy machine keeps this thread from running (a two-call run could
    # otherwise end and free the lock in between).
    archive.set_faults(latency_ms=3000, endpoints=[LIST])
    first, problem = backfill.start("one", since=None)
    second, refused = backfill.start("two", since=None)
    archive.clear_faults()
    assert problem is None and first is not None
    assert refused is not None and "already running" in refused
    assert backfill.wait_idle()
    assert list(BackfillRun.objects.values_list("state", flat=True)) == [BackfillRun.DONE]


def test_an_upstream_fault_mid_run_is_said_and_no_coverage_is_claimed(
    transactional_db, archive, support_client, client_for, settings
):
    settings.ACTIONS_SCAN_BUDGET = 1
    archive.set_faults(next_statuses=[200], error_rate=1.0, error_status=503, endpoints=[LIST])
    start(support_client)
    assert backfill.wait_idle()
    archive.clear_faults()
    run = BackfillRun.objects.get()
    assert run.state == BackfillRun.FAILED and run.pages == 1
    state = SyncState.load()
    assert not state.bottom_reached  # one page read: nothing older is claimed
    assert state.covered_from is not None and state.covered_from == run_oldest_cursor(state)
    progress = support_client.get(PROGRESS)
    assert progress.status_code == 286  # polling ends
    said = text(progress, ".sync-progress")
    assert "Reading the missing history stopped: Voucherify did not answer as expected " \
        "part-way" in said
    assert "What was read is kept; the rest is still missing" in said
    assert "503" not in said  # the technical detail is for admins
    page = support_client.get(FAILED)
    assert "Complete" not in text(page, ".scan-notice")
    assert soup(page).select_one("#history-sync .sync-failed") is not None  # still shown
    assert "503" in text(client_for("admin").get(PROGRESS), ".admin-hint")  # logs in anew


def run_oldest_cursor(state: SyncState):
    """Where the one page read ends: the run resumes from there."""
    from dashboard.voucherify.cursor import Cursor

    return Cursor.from_param(state.resume_cursor).before


@pytest.mark.parametrize("role", ["support", "auditor", "admin"])
def test_the_sync_offer_follows_the_role(transactional_db, archive, client_for, settings, role):
    settings.ACTIONS_SCAN_BUDGET = 1
    run_sync(max_calls=1)  # the newest page only: older history is missing
    page = client_for(role).get(FAILED)
    assert soup(page).select_one("form.history-sync-start") is not None


def test_done_with_failures_offers_no_sync_once_every_action_is_read(
    synced, archive, support_client, settings
):
    settings.ACTIONS_SCAN_BUDGET = 1
    page = support_client.get("/actions/?status=DONE_WITH_FAILURES&limit=100")
    assert page.status_code == 200
    # Failed rows of finished actions come with their detail as pages show them; a sync of
    # the list would read nothing new, so none is offered.
    assert soup(page).select_one("form.history-sync-start") is None


def test_done_with_failures_is_complete_only_once_every_done_result_is_known(
    synced, archive, support_client, settings
):
    """A finished action whose result was never read may have failed rows: while any is left
    in the range, the filter says how many and claims no count."""
    settings.ACTIONS_SCAN_BUDGET = 1
    unchecked = ArchivedAction.objects.filter(status="DONE", failed_rows__isnull=True)
    left = unchecked.count()
    assert left > 1  # the sync reads the results of FAILED actions and purges only
    said = text(support_client.get("/actions/?status=DONE_WITH_FAILURES&limit=100"),
                ".scan-notice")
    assert f"{left:,} finished actions here have not been checked for failed rows yet" in said \
        or f"{left} finished actions here have not been checked for failed rows yet" in said
    assert "Complete" not in said

    one = unchecked.first().pk
    unchecked.update(failed_rows=0, has_detail=True)  # as if each result had been read
    ArchivedAction.objects.filter(pk=one).update(failed_rows=3)  # and one had failed rows
    page = support_client.get("/actions/?status=DONE_WITH_FAILURES&limit=100")
    said = text(page, ".scan-notice")
    assert "Complete" in said and "not been checked" not in said
    assert one in page.content.decode()
