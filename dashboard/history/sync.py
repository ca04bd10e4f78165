"""The backfill: walk history newest to oldest within a call cap, archiving what it reads.

Each run first catches up on the newest actions down to what was read before, then goes on
older from where the last run stopped, then reads again the page of each action that was
still running when read (it bounds the covered range until it finishes), then spends what is
left of its cap on details: metadata key purges first (who started them, how many records),
then FAILED actions.
Every call passes the polling layer's gate at background priority, so a run from cron never
takes the calls that people's page loads need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.utils import timezone

from dashboard.polling import askers, gate
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.dates import EARLIEST, plus_ms
from dashboard.voucherify.errors import BudgetExhaustedError, NotFoundError, VoucherifyError
from dashboard.voucherify.models import Action, ActionPage

from .archive import PURGE_CONTEXT, archive_actions, missing_details, purges_wanting_detail
from .models import SyncState
from .prune import retention_cutoff
from .schemas import record_schemas
from .state import covered_top, forget_runners, note_runners, reach, read_top, runner_dates, settle

logger = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_SIZE = 100
DETAIL_BATCH = 100  # details stored per transaction (one commit each)
MAX_BUDGET_WAIT = 300.0  # seconds a run waits for the shared budget before it gives up
WAITING = "waiting for calls"  # the phase while the shared budget is short


class CapReached(Exception):
    """This run's --max-calls are spent (or the shared budget stays short too long)."""


@dataclass
class Progress:
    pages: int = 0
    archived: int = 0
    details: int = 0
    calls: int = 0
    oldest: datetime | None = None
    phase: str = "starting"
    problem: str | None = None
    upstream_failed: bool = False  # the problem is an upstream error, not a short budget
    schema_snapshots: int = 0  # object types whose metadata schema changed since the last read


@dataclass
class WalkEnd:
    reason: str  # met | bottom | since | cap | error
    cursor: Cursor | None  # where a later walk goes on (None: nothing older)
    pages: int = 0
    seen: list[Action] = field(default_factory=list, repr=False)  # for the coverage top


class Sync:
    def __init__(
        self,
        client: VoucherifyClient,
        *,
        max_calls: int,
        since: datetime | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        keep_lock: Callable[[], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.max_calls = max_calls
        cutoff = retention_cutoff()  # never walk back into what retention prunes
        self.since = max(since, cutoff) if since and cutoff else since or cutoff
        self.progress = Progress()
        self._on_progress = on_progress or (lambda progress: None)
        self._keep_lock = keep_lock or (lambda: None)
        self._sleep = sleep
        self._should_stop = should_stop
        self._tried: set[str] = set()
        self._purges_waiting = 0  # purges walked this run whose detail is still to fetch
        self._unread_runners: set[str] = set()  # runners no page of this run has read yet
        self._started = timezone.now()  # set again by run: the read that claims are dated by

    # --- calls -------------------------------------------------------------------------

    def _call(self, read: Callable[[], T]) -> T:
        """One call through the shared gate at background priority; while the budget is short,
        wait for it (up to MAX_BUDGET_WAIT in all)."""
        # A stop request ends the run like a spent cap: what was read is saved, so the
        # next run resumes from there instead of walking the same pages again.
        if self.progress.calls >= self.max_calls or self._should_stop():
            raise CapReached
        waited = 0.0
        while True:
            try:
                with gate.priority(background=True), askers.asking(
                    person=askers.current().person, purpose=askers.SYNC
                ):
                    value = read()
            except BudgetExhaustedError as short:
                pause = max(1.0, min(short.retry_after, 60.0))
                if waited + pause > MAX_BUDGET_WAIT:
                    self.progress.problem = str(short)
                    self.max_calls = self.progress.calls  # no more waiting in this run
                    raise CapReached from None
                self.progress.phase = WAITING  # a page showing the progress says so
                self._on_progress(self.progress)
                self._sleep(pause)
                waited += pause
                if self._should_stop():
                    raise CapReached from None
                continue
            except VoucherifyError:
                self.progress.calls += 1
                raise
            self.progress.calls += 1
            return value

    def _failed(self, error: VoucherifyError) -> None:
        self.progress.problem = str(error)
        self.progress.upstream_failed = True

    def _report(self, phase: str) -> None:
        self.progress.phase = phase
        if self._keep_lock() is False:  # another run took over a lapsed lock: stop calling
            self.progress.problem = "another run took over the sync lock"
            self.max_calls = self.progress.calls
        self._on_progress(self.progress)

    def snapshot_schemas(self) -> bool:
        """One read of the metadata schemas, kept where they changed (the purge audit's keys).

        A failure is logged, never fatal: the archive does not depend on it."""
        try:
            schemas = self._call(self.client.list_metadata_schemas)
        except CapReached:
            return False
        except VoucherifyError as error:
            logger.warning("Reading the metadata schemas failed: %s", error)
            return False
        self.progress.schema_snapshots += record_schemas(schemas)
        return True

    # --- walking -----------------------------------------------------------------------

    def _walk(self, cursor: Cursor | None, *, stop_at: datetime | None, phase: str,
              since: datetime | None = None) -> WalkEnd:
        """Pages from `cursor` on until one reaches `stop_at`, `since`, the bottom or the cap."""
        end = WalkEnd("cap", cursor)
        while True:
            try:
                page: ActionPage = self._call(
                    lambda c=cursor: self.client.list_actions(limit=PAGE_SIZE, cursor=c)
                )
            except CapReached:
                return end
            except VoucherifyError as error:
                self._failed(error)
                end.reason = "error"
                return end
            end.pages += 1
            end.seen.extend(page.actions)
            self._unread_runners.difference_update(action.id for action in page.actions)
            self.progress.pages += 1
            self.progress.archived += archive_actions(page.actions)
            if page.actions:
                oldest = min(action.created_at for action in page.actions)
                if self.progress.oldest is None or oldest < self.progress.oldest:
                    self.progress.oldest = oldest
            self._report(phase)
            self._purges_waiting += purges_wanting_detail(
                [action.id for action in page.actions if action.context == PURGE_CONTEXT])
            following = page.next_cursor if page.has_more else None
            end.cursor = following
            if stop_at is not None and any(a.created_at <= stop_at for a in page.actions):
                end.reason = "met"
                return end
            if following is None:
                end.reason = "bottom"
                return end
            if since is not None and following.before < since:
                end.reason = "since"
                return end
            # Who purged what comes before older pages: the calls left are kept for the
            # details of the purges walked so far (fetched together after the walk).
            if self.max_calls - self.progress.calls <= self._purges_waiting:
                return end
            cursor = following

    def _details(self, *, purges_only: bool) -> None:
        """Detail calls for archived actions that lack one, while the cap allows."""
        while self.progress.calls < self.max_calls:
            left = self.max_calls - self.progress.calls
            ids = missing_details(purges_only=purges_only, limit=left, exclude=self._tried)
            if not ids:
                return
            fetched: list[Action] = []
            try:
                for action_id in ids:
                    self._tried.add(action_id)
                    try:
                        fetched.append(self._call(lambda i=action_id: self.client.get_action(i)))
                    except CapReached:
                        return
                    except NotFoundError:
                        logger.warning("Archived action %s is gone upstream.", action_id)
                        continue
                    except VoucherifyError as error:
                        self._failed(error)
                        return
                    if len(fetched) >= DETAIL_BATCH:
                        self._store_details(fetched)
            finally:  # what was fetched is kept, however the loop ended
                self._store_details(fetched)
            self._report("details")

    def _store_details(self, fetched: list[Action]) -> None:
        # One transaction (one commit, a few queries) for a batch instead of one each.
        self.progress.details += archive_actions(fetched, detail=True)
        fetched.clear()

    # --- one run -----------------------------------------------------------------------

    def run(self) -> Progress:
        state = SyncState.load()
        self._started = started = timezone.now()
        self._unread_runners = set(runner_dates(state))
        self._details(purges_only=True)  # left over by a run that ran out of calls
        if state.covered_to is None:
            end = self._walk(None, stop_at=None, phase="history", since=self.since)
            if end.pages:
                top = covered_top(end.seen, started)
                if top is None:  # an empty history is complete up to now; a running action
                    # at the first representable moment leaves nothing to claim below it
                    top = EARLIEST if end.seen else started
                state.covered_to, state.read_to = top, read_top(end.seen, started)
                state.first_synced_at = state.first_synced_at or started
                self._moved_older(state, end)
        elif self._catch_up(state) and not (state.bottom_reached or state.read_bottom):
            cursor = Cursor.from_param(state.resume_cursor) if state.resume_cursor else None
            if cursor is None and state.covered_from is not None:
                cursor = Cursor(before=state.covered_from)
            if cursor is not None and (self.since is None or cursor.before > self.since):
                end = self._walk(cursor, stop_at=None, phase="history", since=self.since)
                if end.pages:
                    self._moved_older(state, end)
        self._recheck_runners(state)
        self._details(purges_only=True)  # the walked purges' details, in a few transactions
        self._purges_waiting = 0
        self.snapshot_schemas()
        self._details(purges_only=False)
        self._save(state)
        self._report("done")
        return self.progress

    def _catch_up(self, state: SyncState) -> bool:
        """Newest actions down to what was read before (the covered range, or above it past a
        runner); False when the cap cut it short."""
        walked_to = reach(state)
        end = self._walk(None, stop_at=state.gap_top or walked_to, phase="catching up")
        reason, cursor, pages, seen = end.reason, end.cursor, end.pages, list(end.seen)
        if reason == "met" and state.gap_top is not None:
            gap = self._walk(Cursor.from_param(state.gap_cursor), stop_at=walked_to,
                             phase="catching up")
            reason, pages = gap.reason, pages + gap.pages
            seen += gap.seen  # a running action in the gap bounds the claim as one above it
            cursor = gap.cursor if gap.pages else Cursor.from_param(state.gap_cursor)
        if not pages:
            return False
        note_runners(state, seen)  # they bound the claim (settle); a finished one was archived
        if reason in ("met", "bottom"):  # read down to what was read before
            top = read_top(seen, self._started)
            state.read_to = walked_to if top is None else max(walked_to, top)
            state.gap_top, state.gap_cursor = None, ""
            settle(state)
            return True
        top = covered_top(seen, self._started)
        if top is not None and top > walked_to and cursor is not None:
            state.gap_top, state.gap_cursor = top, cursor.to_param()
        return False

    def _recheck_runners(self, state: SyncState) -> None:
        """The page holding each runner no walk of this run read (one page for all the runners
        on it): the only actions in what was read that can have changed. A finished one is
        archived and the claim moves over it; one missing from its page is gone."""
        if self.progress.upstream_failed:
            return  # it fails already: no more calls to it this run, the runners stay as read
        unread = {i: d for i, d in runner_dates(state).items() if i in self._unread_runners}
        while unread:
            newest = max(unread, key=unread.__getitem__)
            created = unread.pop(newest)
            end = self._walk(Cursor(before=plus_ms(created)), stop_at=created,
                             phase="re-reading running actions")
            if not end.pages:
                break  # the cap, or an upstream fault (reported): the runners stay as they were
            note_runners(state, end.seen)
            spanned = {i for i, d in {**unread, newest: created}.items() if _spans(end, d)}
            forget_runners(state, spanned & self._unread_runners)
            unread = {i: d for i, d in unread.items() if i not in spanned}
        settle(state)

    @staticmethod
    def _moved_older(state: SyncState, end: WalkEnd) -> None:
        # A running action is not archived: the claim stops above the newest one read (settle)
        # while the walk goes on below it, and later runs re-read only its page.
        note_runners(state, end.seen)
        if end.reason == "bottom":
            state.read_bottom, state.resume_cursor = True, ""
            oldest = min((a.created_at for a in end.seen), default=None)
            if oldest is not None and (state.covered_from is None or oldest < state.covered_from):
                state.covered_from = oldest
        elif end.cursor is not None:
            state.resume_cursor = end.cursor.to_param()
        settle(state)

    def _save(self, state: SyncState) -> None:
        # The dashboard may have extended covered_to meanwhile (state.extend_from_newest).
        current = SyncState.objects.filter(pk=state.pk).values_list("covered_to", flat=True)
        latest = current.first()
        if latest is not None and (state.covered_to is None or latest > state.covered_to):
            state.covered_to = latest
        state.last_run_at = timezone.now()
        state.last_run_calls = self.progress.calls
        state.save(update_fields=[
            "covered_to", "covered_from", "bottom_reached", "resume_cursor", "gap_top",
            "gap_cursor", "read_to", "read_bottom", "runners", "first_synced_at",
            "last_run_at", "last_run_calls",
        ])


def _spans(end: WalkEnd, created: datetime) -> bool:
    """Whether a walk of one page, from just above `created`, read every action created then
    (an action older than it came after them all, or nothing older exists)."""
    return end.cursor is None or any(action.created_at < created for action in end.seen)
