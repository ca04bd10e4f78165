"""The backfill: call cap, resuming, catching up, --since, one run at a time; a signal saves
its position and an upstream fault exits non-zero with one line."""

from __future__ import annotations

import io
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from dashboard.history.models import ArchivedAction, SyncState
from dashboard.history.query import ListFilter, archived_rest
from dashboard.history.state import acquire_lock, release_lock
from dashboard.history.sync import Sync
from dashboard.polling import reads as upstream
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.dates import EARLIEST, parse_timestamp
from tests.helpers.upstream import (
    DETAIL,
    LIST,
    SEEDED,
    detail,
    finish_action,
    finished_history,
    insert_terminal,
    live_action,
    run_sync,
    upstream_history,
)


def created_at(emulator, action_id: str):
    return parse_timestamp(detail(emulator, action_id)["created_at"])


def answers_running_empty(status: str) -> bool:
    """Whether the archive says that no action below its newest row has `status`: the
    answer its running filters give for the list's pages after the first."""
    newest = max(ArchivedAction.objects.values_list("created_at", flat=True))
    answer = archived_rest(ListFilter(status=status), Cursor(before=newest), 25)
    return answer is not None and not answer.rows


@pytest.mark.parametrize("cap", [1, 3, 7])
def test_sync_makes_no_more_upstream_calls_than_its_cap(archive, cap):
    progress = run_sync(max_calls=cap)
    assert archive.count() == cap == progress.calls
    assert archive.count(endpoint=LIST) >= 1


def test_a_capped_first_run_archives_pages_and_their_purges_first(archive):
    run_sync(max_calls=5)
    state = SyncState.load()
    assert ArchivedAction.objects.count() == 100  # one page, then purge details
    assert archive.count(endpoint=LIST) == 1 and archive.count(endpoint=DETAIL) == 4
    assert ArchivedAction.objects.filter(has_detail=True, context="METADATA_KEY_PURGE").count() == 4
    assert state.covered_to is not None and not state.bottom_reached
    assert state.resume_cursor and state.covered_from is not None


def test_sync_resumes_where_the_last_run_stopped_until_the_bottom(archive):
    runs = 0
    while not SyncState.load().bottom_reached:
        run_sync(max_calls=20)
        runs += 1
        assert runs < 10, "the sync does not make progress"
    # The four pages of history are read once; each later run re-reads only the newest page
    # to catch up before it goes on older.
    assert archive.count(endpoint=LIST) == 4 + (runs - 1)
    assert runs > 2
    truth = upstream_history(archive)
    assert set(ArchivedAction.objects.values_list("pk", flat=True)) == {a["id"] for a in truth}
    assert len(truth) == SEEDED


def test_a_full_sync_archives_everything_with_purge_and_failed_details(synced, archive):
    truth = upstream_history(archive)
    state = SyncState.load()
    assert state.bottom_reached and state.resume_cursor == ""
    assert ArchivedAction.objects.count() == SEEDED
    assert state.covered_to == max(
        ArchivedAction.objects.values_list("created_at", flat=True)
    )
    purges = [a for a in truth if a["type"].endswith(".METADATA_KEY_PURGE")]
    failed = [a for a in truth if a["status"] == "FAILED"]
    detailed = set(ArchivedAction.objects.filter(has_detail=True).values_list("pk", flat=True))
    assert {a["id"] for a in purges + failed} <= detailed
    # Pages, details, and the one metadata schema read (the purge audit's key history).
    assert synced.calls == 4 + len({a["id"] for a in purges + failed}) + 1


def test_a_run_after_a_full_sync_costs_one_call_and_catches_up_new_actions(synced, archive):
    new = insert_terminal(archive, "aa_00000000000000new1", type_="ORDERS.METADATA_KEY_PURGE",
                          result={"message": "Updated 12 orders.", "done_count": 12},
                          user={"email": "ada@example.com"})
    before = SyncState.load().covered_to
    progress = run_sync()
    assert archive.count(endpoint=LIST) == 1
    assert archive.count(endpoint=DETAIL) == 1  # the new purge's detail
    assert progress.archived == 1
    row = ArchivedAction.objects.get(pk=new["id"])
    assert row.has_detail and row.user == {"email": "ada@example.com"}
    assert SyncState.load().covered_to > before


def test_a_catch_up_cut_short_by_the_cap_is_finished_by_the_next_run(synced, archive):
    for n in range(150):  # more new actions than one page
        insert_terminal(archive, f"aa_{n:018x}", minutes_old=0.001 * (150 - n))
    run_sync(max_calls=1)
    state = SyncState.load()
    assert state.gap_top is not None and state.gap_cursor
    covered = state.covered_to
    run_sync(max_calls=5)
    state = SyncState.load()
    assert state.gap_top is None and state.covered_to > covered
    assert ArchivedAction.objects.count() == SEEDED + 150


def test_a_running_action_in_the_gap_walk_is_not_claimed_as_covered(synced, archive):
    # More new finished actions than a page, one still running among the older of them: on
    # the catch-up's second page, which a first run of one call does not read.
    for n in range(150):
        insert_terminal(archive, f"aa_{n:018x}", minutes_old=0.001 * (150 - n))
    running = live_action(archive, minutes_old=0.12, action_id="aa_0000000000000live1")
    run_sync(max_calls=1)  # the newest page only: a gap below it
    assert SyncState.load().gap_top is not None
    run_sync(max_calls=5)  # the gap is walked: its page holds the running action
    state = SyncState.load()
    assert state.gap_top is None
    assert not ArchivedAction.objects.filter(pk=running).exists()
    assert state.covered_to < created_at(archive, running)
    assert not answers_running_empty("IN_PROGRESS")


def test_a_gap_walk_cut_short_keeps_its_top_below_a_running_action_it_read(synced, archive):
    for n in range(250):  # three new pages: the gap walk reads one of its two
        insert_terminal(archive, f"aa_{n:018x}", minutes_old=0.001 * (250 - n))
    running = live_action(archive, minutes_old=0.12, action_id="aa_0000000000000live4")
    run_sync(max_calls=1)
    run_sync(max_calls=2)  # the newest page again, then the gap's first page only
    state = SyncState.load()
    assert state.gap_top is not None
    assert state.gap_top < created_at(archive, running)
    run_sync()
    assert SyncState.load().covered_to < created_at(archive, running)


def list_pages_per_run(archive, runs: int) -> list[int]:
    """The list pages each of `runs` syncs in a row reads upstream (none of them capped)."""
    pages = []
    for _ in range(runs):
        archive.clear_stats()
        assert run_sync().problem is None
        pages.append(archive.count(endpoint=LIST))
    return pages


def leaves_out(moment: datetime) -> bool:
    """Whether the covered range leaves out an action created at `moment`."""
    state = SyncState.load()
    return moment > state.covered_to or (
        not state.bottom_reached and state.covered_from is not None
        and moment <= state.covered_from)


@pytest.fixture
def enqueued_at_year_one(archive) -> str:
    """An action ENQUEUED at the first representable moment (an upstream value nobody
    expected): below every other action, and never finishing."""
    archive.insert_action({
        "id": "aa_00000000000000old1", "object": "async_action", "type": "VOUCHERS.IMPORT_CSV",
        "status": "ENQUEUED", "progress": 0, "created_at": "0001-01-01T00:00:00.000Z",
        "updated_at": "0001-01-01T00:00:00.000Z", "request_id": "v-0c5543f0",
    })
    return "aa_00000000000000old1"


def test_a_running_action_at_the_first_representable_moment_leaves_nothing_claimed(
        archive, enqueued_at_year_one):
    for _ in range(2):  # the first walk, then a catch-up: neither crashes nor loses its work
        progress = run_sync()
        assert progress.problem is None
        state = SyncState.load()
        assert state.covered_to is not None and state.last_run_at is not None
        assert not answers_running_empty("ENQUEUED")
    assert ArchivedAction.objects.count() == SEEDED


def test_a_running_action_deep_in_history_is_not_claimed_and_is_read_again(archive):
    running = live_action(archive, minutes_old=60 * 24 * 45, status="ENQUEUED",
                          action_id="aa_0000000000000live3")
    created = created_at(archive, running)
    run_sync(max_calls=1)  # the newest page: the walk stops above the running action
    assert SyncState.load().covered_from > created
    run_sync()  # resumes older, through the page holding it, down to the bottom
    state = SyncState.load()
    assert not ArchivedAction.objects.filter(pk=running).exists()
    assert not state.bottom_reached and state.covered_from >= created
    assert not answers_running_empty("ENQUEUED")
    finish_action(archive, running)
    run_sync()  # reads again from the action, now finished, down to the bottom
    state = SyncState.load()
    assert ArchivedAction.objects.filter(pk=running).exists() and state.bottom_reached
    assert answers_running_empty("ENQUEUED")


@pytest.mark.parametrize("first_cap", [10_000, 1],
                         ids=["the first walk passes it", "an older walk meets it"])
def test_runs_over_a_runner_stuck_deep_in_history_read_a_page_or_two(
        archive, stuck_deep, first_cap):
    run_sync(max_calls=first_cap)
    run_sync()  # capped first: the older walk goes on through the runner to the bottom
    # Nothing changed upstream but the runner, which may have finished: the newest page
    # and the runner's own page, not the eight pages between them and the covered range.
    pages = list_pages_per_run(archive, 2)
    assert max(pages) <= 2, pages
    assert not ArchivedAction.objects.filter(pk=stuck_deep).exists()
    assert leaves_out(created_at(archive, stuck_deep))
    assert not answers_running_empty("IN_PROGRESS")


@pytest.mark.parametrize("status", ["DONE", "FAILED"])
def test_a_stuck_runner_that_finishes_is_archived_and_the_range_closes_over_it(
        archive, stuck_deep, status):
    run_sync()
    finish_action(archive, stuck_deep, status=status,
                  result={"message": "Imported 0 vouchers.", "failed_count": 3})
    run_sync(max_calls=1)  # the newest page only: the finished runner is not read yet
    assert not ArchivedAction.objects.filter(pk=stuck_deep).exists()
    assert leaves_out(created_at(archive, stuck_deep))
    assert list_pages_per_run(archive, 1) == [2]  # the newest page, and the runner's
    row = ArchivedAction.objects.get(pk=stuck_deep)
    assert row.status == status and row.has_detail == (status == "FAILED")
    state = SyncState.load()
    assert state.bottom_reached and state.covered_to == max(
        ArchivedAction.objects.values_list("created_at", flat=True))
    assert answers_running_empty("IN_PROGRESS")
    assert ArchivedAction.objects.count() == SEEDED + 1200 + 1


def test_a_runner_is_not_read_again_in_an_outage_and_keeps_bounding_the_range(
        archive, stuck_deep):
    run_sync()
    finish_action(archive, stuck_deep)
    created = created_at(archive, stuck_deep)
    archive.set_faults(error_rate=1.0, error_status=500)
    archive.clear_stats()
    assert run_sync().upstream_failed
    assert archive.count(endpoint=LIST) == 1  # the catch-up failed: no re-read after it
    assert leaves_out(created)
    archive.clear_faults()
    run_sync()
    assert ArchivedAction.objects.filter(pk=stuck_deep).exists()
    assert answers_running_empty("IN_PROGRESS")


def test_runners_on_one_page_are_read_again_together_and_each_bounds_the_range(
        archive, stuck_deep):
    older = live_action(archive, minutes_old=60 * 24 * 25 + 30, status="ENQUEUED",
                        action_id="aa_00000000000stuck2")
    run_sync()
    assert list_pages_per_run(archive, 1) == [2]  # the newest page, and one for both
    finish_action(archive, older)
    run_sync()
    assert ArchivedAction.objects.filter(pk=older).exists()
    assert not ArchivedAction.objects.filter(pk=stuck_deep).exists()
    assert created_at(archive, older) <= SyncState.load().covered_to
    assert leaves_out(created_at(archive, stuck_deep))
    assert not answers_running_empty("IN_PROGRESS")


def test_a_runner_dated_year_one_costs_later_catch_ups_no_walk_of_the_history(
        archive, enqueued_at_year_one):
    finished_history(archive, 600, newest_days=1, oldest_days=20)
    run_sync()
    pages = list_pages_per_run(archive, 2)
    assert max(pages) <= 2, pages
    assert not ArchivedAction.objects.filter(pk=enqueued_at_year_one).exists()
    state = SyncState.load()  # everything above the runner is held, nothing at or below it
    assert state.covered_to == max(ArchivedAction.objects.values_list("created_at", flat=True))
    assert not state.bottom_reached and leaves_out(EARLIEST)
    assert not answers_running_empty("ENQUEUED")


def test_a_finished_action_dated_in_the_future_does_not_stop_later_catch_ups(archive):
    # Clock skew or a hostile value: one finished action created two days from now.
    future = insert_terminal(archive, "aa_0000000000future01", minutes_old=-(60 * 24 * 2))
    run_sync()
    assert ArchivedAction.objects.filter(pk=future["id"]).exists()
    assert SyncState.load().covered_to < parse_timestamp(future["created_at"])
    new = [insert_terminal(archive, f"aa_{n:018x}", minutes_old=0.001 * (150 - n))["id"]
           for n in range(150)]  # more than the newest page holds
    run_sync()
    assert ArchivedAction.objects.filter(pk__in=new).count() == len(new)


def test_sync_since_stops_at_the_date_and_a_later_run_goes_older(archive):
    since = datetime.now(UTC) - timedelta(days=10)
    run_sync(since=since)
    state = SyncState.load()
    assert not state.bottom_reached
    oldest = min(ArchivedAction.objects.values_list("created_at", flat=True))
    assert oldest < since  # the last page read crosses the date
    assert oldest > since - timedelta(days=30)
    run_sync()
    assert SyncState.load().bottom_reached
    assert ArchivedAction.objects.count() == SEEDED


def test_the_command_shows_progress_and_a_summary(archive):
    out = io.StringIO()
    call_command("sync_actions", "--max-calls", "6", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("history: 1 page(s), 100 action(s) archived")
    assert "oldest reached" in lines[-1] and "6 call(s)" in lines[-1]
    assert archive.count() == 6


def test_a_second_run_while_one_holds_the_lock_exits_without_a_call(archive):
    assert acquire_lock("other-host:123:abc")
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_actions", stdout=out, stderr=err)
    assert "Another sync_actions run (other-host:123:abc) is in progress" in err.getvalue()
    assert archive.count() == 0 and ArchivedAction.objects.count() == 0
    release_lock("other-host:123:abc")
    call_command("sync_actions", "--max-calls", "2", stdout=out, stderr=err)
    assert archive.count() == 2
    assert SyncState.load().lock_owner == ""  # released after the run


def test_a_lapsed_lock_does_not_block_forever(archive):
    assert acquire_lock("crashed", seconds=-1)
    assert acquire_lock("next")
    assert not acquire_lock("third")


def test_two_syncs_in_a_row_upsert_idempotently(synced, archive):
    rows = dict(ArchivedAction.objects.values_list("pk", "raw"))
    run_sync()
    assert dict(ArchivedAction.objects.values_list("pk", "raw")) == rows


@pytest.mark.parametrize("args, message", [
    (["--max-calls", "0"], "--max-calls must be a whole number"),
    (["--max-calls", "lots"], "--max-calls must be a whole number"),
    (["--max-calls", "²"], "--max-calls must be a whole number"),  # a digit to isdigit()
    (["--since", "yesterday"], "--since"),
])
def test_bad_arguments_are_refused_before_any_call(archive, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("sync_actions", *args, stdout=io.StringIO())
    assert archive.count() == 0


def test_a_run_that_lost_its_lock_stops_calling(archive):
    progress = Sync(upstream.get_client(), max_calls=1000, keep_lock=lambda: False).run()
    assert progress.problem == "another run took over the sync lock"
    assert archive.count() == 1  # the first page, then nothing more


def test_sync_pays_from_the_shared_budget_and_gives_up_when_it_stays_short(archive, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 3
    waits: list[float] = []
    progress = Sync(upstream.get_client(), max_calls=50, sleep=waits.append).run()
    assert archive.count() == progress.calls == 3
    assert waits and sum(waits) <= 300
    assert "budget" in progress.problem
    assert SyncState.load().covered_to is not None  # what it read is kept


class SignalAfterFirstPage(io.StringIO):
    """stdout that sends this process `signum` once the first page is archived, as cron's
    timeout or Ctrl-C would mid-run."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum, self.sent = signum, False

    def write(self, text: str) -> int:
        if "history: 1 page" in text and not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)
        return super().write(text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_first_sync_keeps_its_position_and_the_next_run_resumes(archive, signum):
    previous = signal.getsignal(signum)
    with pytest.raises(CommandError, match="next run resumes from there"):
        call_command("sync_actions", "--max-calls", "50", stdout=SignalAfterFirstPage(signum))
    assert signal.getsignal(signum) == previous  # the command puts the handler back
    state = SyncState.load()
    assert state.lock_owner == ""  # released
    assert state.covered_to is not None and state.resume_cursor  # the position is saved
    assert archive.count(endpoint=LIST) == 1  # it stopped after the call in flight
    first_oldest = state.covered_from

    out = io.StringIO()
    call_command("sync_actions", "--max-calls", "30", stdout=out)
    # It catches up on the newest page, then goes on older than where the first run stopped.
    assert "catching up" in out.getvalue()
    assert SyncState.load().covered_from < first_oldest
    assert ArchivedAction.objects.count() > 100


@pytest.mark.parametrize("fault", [
    {"error_rate": 1.0}, {"error_rate": 1.0, "error_status": 500}, {"drop_connection": True},
    {"malformed_json": True}, {"force_429": True},
])
def test_a_sync_stopped_by_an_upstream_fault_exits_non_zero_with_one_line(archive, fault):
    archive.set_faults(**fault)
    out = io.StringIO()
    with pytest.raises(CommandError, match="^Stopped early: ") as raised:
        call_command("sync_actions", "--max-calls", "3", stdout=out)
    assert "\n" not in str(raised.value)
    assert "done: 0 page(s)" in out.getvalue()
    assert SyncState.load().lock_owner == ""
