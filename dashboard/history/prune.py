"""Retention: actions created before ARCHIVE_RETENTION_DAYS ago leave the archive, in
batches, with their rollup counts; the coverage record moves up first, so the archive-served
list never claims a range whose rows are being deleted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard import sharedcache
from dashboard.polling import economy
from dashboard.voucherify.cursor import Cursor

from .models import ArchivedAction, SyncState
from .rollups import FIGURES, Deltas
from .state import forget_runners, runner_dates

logger = logging.getLogger(__name__)
BATCH = 5000


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """Actions created before this moment are pruned; None keeps everything (the default)."""
    days = settings.ARCHIVE_RETENTION_DAYS
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


@dataclass(frozen=True)
class Pruned:
    cutoff: datetime | None
    deleted: int = 0
    stopped: str = ""  # why it stopped before the end ("" when it pruned all it could)


CACHE_AWAY = ("the shared cache does not answer, and the cached copies of what it prunes "
              "must go with their rows")
LOCK_LOST = "another run holds the archive's lock"


def shrink_coverage(cutoff: datetime) -> None:
    """The archive will hold nothing created at or before `cutoff`: the covered range starts
    there at the lowest (and the bottom of history is no longer in it), and so does what the
    walks read past a running action (its runners there no longer count)."""
    state = SyncState.load()
    if state.covered_to is None:
        return
    forget_runners(state, {i for i, created in runner_dates(state).items() if created <= cutoff})
    if state.covered_to <= cutoff:  # nothing covered survives: the next sync starts afresh
        state.covered_to = state.covered_from = state.read_to = None
        state.gap_top, state.gap_cursor, state.runners = None, "", []
        state.resume_cursor = ""
    elif state.bottom_reached or state.covered_from is None or state.covered_from < cutoff:
        state.covered_from, state.resume_cursor = cutoff, ""
    elif state.read_bottom or _resumes_below(state, cutoff):
        # A runner holds the claim above the cutoff: once it finishes, the claim goes down
        # to the cutoff, no further, and no walk goes below it.
        state.resume_cursor = Cursor(before=cutoff).to_param()
    state.bottom_reached = state.read_bottom = False
    state.save(update_fields=["covered_to", "covered_from", "bottom_reached", "resume_cursor",
                              "gap_top", "gap_cursor", "read_to", "read_bottom", "runners"])


def _resumes_below(state: SyncState, cutoff: datetime) -> bool:
    return bool(state.resume_cursor) and Cursor.from_param(state.resume_cursor).before < cutoff


def prune(now: datetime | None = None, *, batch: int | None = None,
          keep_lock: Callable[[], bool] | None = None) -> Pruned:
    """Delete what retention lets go, `batch` rows per transaction. The caller holds the sync
    lock (a sync saving its old covered range meanwhile would undo shrink_coverage) and
    renews it with `keep_lock` after every batch: a prune of millions of rows outlasts the
    lock. Lost (another run took it once it lapsed), the prune stops; the next one goes on.

    It stops too while the shared cache is away (sharedcache.degraded): the deletes of the
    pruned actions' cached copies wait in this process for Redis, up to a bound, and a
    prune of millions would overrun it, leaving copies that show a big result's first rows
    as all of them once Redis is back."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return Pruned(None)
    shrink_coverage(cutoff)
    batch = batch or BATCH
    deleted = 0
    while True:
        stopped = _why_stop(keep_lock if deleted else None)  # the lock is renewed after a batch
        if stopped:
            logger.warning("Pruning stopped after %d rows: %s.", deleted, stopped)
            return Pruned(cutoff, deleted, stopped)
        ids = list(ArchivedAction.objects.filter(created_at__lte=cutoff).order_by()
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            return Pruned(cutoff, deleted)
        with transaction.atomic():
            rows = list(ArchivedAction.objects.select_for_update().filter(pk__in=ids)
                        .values("pk", *FIGURES))
            pruned = [row["pk"] for row in rows]
            ArchivedAction.objects.filter(pk__in=pruned).delete()
            Deltas().extend(rows, -1).apply()
        deleted += len(rows)
        _forget_kept_copies(pruned)


def _why_stop(keep_lock: Callable[[], bool] | None) -> str:
    if sharedcache.degraded():
        return CACHE_AWAY
    if keep_lock is not None and not keep_lock():
        return LOCK_LOST
    return ""


def _forget_kept_copies(action_ids: list[str]) -> None:
    """The polling layer's copies of the pruned actions go too: a finished big result's copy
    holds only its first rows, the others were in the rows just deleted."""
    try:
        economy.forget_actions(action_ids)
    except Exception:  # the cache down: the prune itself has committed and stands
        logger.warning("Dropping the cached copies of %d pruned actions failed.",
                       len(action_ids), exc_info=True)
