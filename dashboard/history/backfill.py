"""A bounded backfill started from a page (the purge audit, the actions list): the same run
`sync_actions` does, in a background thread, one at a time (the archive's sync lock), its
progress kept in the database so any process can show it."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from dashboard.polling import budget
from dashboard.polling.gate import get_client

from .audit_models import BackfillRun
from .state import acquire_lock, lock_holder, release_lock
from .sync import Progress, Sync

logger = logging.getLogger(__name__)
LOST_AFTER = timedelta(minutes=15)  # a run with no progress this long died with its process
OWNER_PREFIX = "backfill:"  # the sync lock's owner while a backfill holds it
ALREADY_RUNNING = "A backfill is already running; its progress is shown on the page."

_threads: dict[int, threading.Thread] = {}


def current() -> BackfillRun | None:
    """The latest backfill; one whose process died is marked so."""
    run = BackfillRun.objects.first()
    if run is not None and run.active and lock_holder() is None:
        if timezone.now() - (run.finished_at or run.requested_at) > LOST_AFTER:
            run.state, run.problem = BackfillRun.FAILED, "The run stopped without finishing."
            run.save(update_fields=["state", "problem"])
    return run


def max_calls() -> int:
    """Calls one backfill may spend (paid from the shared budget): HISTORY_SYNC_MAX_CALLS."""
    return int(settings.HISTORY_SYNC_MAX_CALLS)


def start(requested_by: str, since: datetime | None) -> tuple[BackfillRun | None, str | None]:
    """(the run, why none was started): one at a time, never beside sync_actions, and not
    while the shared budget has no call to spare for background work."""
    running = current()
    if running is not None and running.active:
        return running, ALREADY_RUNNING
    wait = budget.seconds_until_tokens(background=True)
    if wait > 0:
        return running, ("The calls the dashboard may make to Voucherify this minute are used "
                         "up (people's pages come first); nothing was started. Try again in "
                         f"about {math.ceil(wait)} s.")
    # The lock is taken here, before the run exists (one UPDATE): of two starts at the same
    # moment one gets it, and the other is refused instead of adding a run that fails.
    owner = f"{OWNER_PREFIX}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not acquire_lock(owner):
        holder = lock_holder()
        if holder is None or holder[0].startswith(OWNER_PREFIX):
            return current(), ALREADY_RUNNING
        return running, ("sync_actions is running right now; start the backfill again when "
                         f"it ends (by {holder[1]:%H:%M UTC} at the latest).")
    try:
        run = BackfillRun.objects.create(requested_by=requested_by[:150], since=since,
                                         max_calls=max_calls())
        thread = threading.Thread(target=_run, args=(run.pk, owner), name=f"backfill-{run.pk}",
                                  daemon=True)
        _threads[run.pk] = thread
        thread.start()
    except BaseException:
        release_lock(owner)
        raise
    return run, None


def wait_idle(timeout: float = 60.0) -> bool:
    """Wait for this process's backfills (tests, shutdown); True when none is running."""
    for thread in list(_threads.values()):
        thread.join(timeout)
    return not any(thread.is_alive() for thread in _threads.values())


def _run(pk: int, owner: str) -> None:
    try:
        run = BackfillRun.objects.get(pk=pk)
        if not acquire_lock(owner):  # renewed: start() took it
            _finish(run, BackfillRun.FAILED, "Another sync run took the archive's lock first.")
            return
        try:
            run.state = BackfillRun.RUNNING
            run.save(update_fields=["state"])
            progress = Sync(get_client(), max_calls=run.max_calls, since=run.since,
                            on_progress=lambda p: _save(run, p),
                            keep_lock=lambda: acquire_lock(owner)).run()
        finally:
            release_lock(owner)
        _save(run, progress)
        failed = progress.upstream_failed
        _finish(run, BackfillRun.FAILED if failed else BackfillRun.DONE, progress.problem or "")
    except Exception:  # a background run must never take a worker down
        logger.exception("Backfill %s failed", pk)
        BackfillRun.objects.filter(pk=pk).update(
            state=BackfillRun.FAILED, problem="The backfill failed; the log says why.",
            finished_at=timezone.now())
    finally:
        _threads.pop(pk, None)
        close_old_connections()


def _save(run: BackfillRun, progress: Progress) -> None:
    run.phase, run.pages, run.archived = progress.phase[:40], progress.pages, progress.archived
    run.details, run.calls, run.oldest = progress.details, progress.calls, progress.oldest
    run.save(update_fields=["phase", "pages", "archived", "details", "calls", "oldest"])


def _finish(run: BackfillRun, state: str, problem: str) -> None:
    run.state, run.problem, run.finished_at = state, problem[:500], timezone.now()
    run.save(update_fields=["state", "problem", "finished_at"])
