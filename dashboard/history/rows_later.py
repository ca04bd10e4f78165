"""A big result's failed rows, stored in a background thread of the worker, once.

Storing 100,000 rows takes seconds; the page that read the result answers with its summary at
once and a panel that polls until the rows are in (issue 13). The summary is archived marked
incomplete (FailureSummary.complete False) in the transaction that archives the action, and
the rows, columns and groups replace it in one transaction: a reader sees all of them or none.

Single flight across threads and processes: whoever stores holds a cache lock, renewed while
it works (singleflight.kept_alive). A worker that dies mid-store stops renewing; the next
viewer who finds the summary incomplete and the lock gone stores the rows again. The rows
were only in that worker's memory, so doing it again reads the detail once more (paid from the
budget, at background priority). A store that fails (Voucherify or the database down) leaves
the lock to expire, so it is tried again at most once per LOCK_SECONDS. Two answers end it for
good: a result read again that is no longer big is stored as it now is, and a 404 (Voucherify
no longer has the action) marks the rows gone, which the panel then says.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable, Mapping

from django.core.cache import cache
from django.db import close_old_connections, connection, transaction

from dashboard import after_response, sharedcache
from dashboard.history.failures import Failures, FailureSet
from dashboard.polling import economy, gate, singleflight, store
from dashboard.voucherify.errors import NotFoundError, VoucherifyError
from dashboard.voucherify.models import Action

from . import failed_items

logger = logging.getLogger(__name__)

# Results with at least this many failed rows and errors are stored in the background;
# smaller ones are stored with the action (that takes less than a page's render).
LATER_FROM = 5_000
LOCK_SECONDS = 30

_threads: dict[str, threading.Thread] = {}
# Actions whose rows this process is storing, from the moment the store is set going: their
# panels are loading, and nobody need be asked whether to store them again, or why not.
_storing: set[str] = set()
_threads_lock = threading.Lock()


def lock_key(action_id: str) -> str:
    return store.key("lock", f"rows:{action_id}")


def failed_key(action_id: str) -> str:
    """Why the last store of the action's rows failed, for the panel waiting on them."""
    return store.key("rows-failed", action_id)


def is_later(lengths: Mapping[str, int]) -> bool:
    return sum(lengths.values()) >= LATER_FROM


def claim(action_id: str) -> str | None:
    """The lock on storing the action's rows (a token to hand to start()), or None when
    someone holds it."""
    token = uuid.uuid4().hex
    return token if cache.add(lock_key(action_id), token, LOCK_SECONDS) else None


def release(action_id: str, token: str) -> None:
    sharedcache.delete_if_equal(cache, lock_key(action_id), token)


def start(action_id: str, token: str, rows: Callable[[], tuple[FailureSet, Mapping[str, int]]],
          *, first: Callable[[], None] | None = None) -> None:
    """Store what `rows()` gives (the rows and the lists' lengths) in a thread of its own,
    started once the page asking for it has answered (after_response); `first`: what that
    thread writes before it (the action's row and its incomplete summary)."""
    def begin() -> None:
        thread = threading.Thread(target=_store, args=(action_id, token, rows, first),
                                  name=f"rows of {action_id}", daemon=True)
        with _threads_lock:
            _threads[action_id] = thread
        try:
            thread.start()
        except BaseException:
            _ended(action_id)
            raise

    with _threads_lock:
        _storing.add(action_id)
    after_response.run(begin)


def storing_here(action_id: str) -> bool:
    """Whether this process is storing the action's rows (or has set it going)."""
    with _threads_lock:
        return action_id in _storing


def _ended(action_id: str) -> None:
    with _threads_lock:
        _threads.pop(action_id, None)
        _storing.discard(action_id)


def of_action(action: Action) -> Callable[[], tuple[FailureSet, Mapping[str, int]]]:
    """The rows of a result just read (the first read holds it whole)."""
    def rows() -> tuple[FailureSet, Mapping[str, int]]:
        kept, failures = failed_items.split(action)
        if failures is None:  # read again and no longer big: what it lists now is all of it
            return failed_items.whole(action)
        return failures, failed_items.kept_apart(kept) or {}
    return rows


def resume(action_id: str) -> bool:
    """Store the rows again when nobody is storing them (the one who was has died): True when
    this call started it."""
    token = claim(action_id)
    if token is None:
        return False
    logger.warning("The failed rows of %s were left half stored; storing them again", action_id)
    start(action_id, token, _read_again(action_id))
    return True


def _read_again(action_id: str) -> Callable[[], tuple[FailureSet, Mapping[str, int]]]:
    def rows() -> tuple[FailureSet, Mapping[str, int]]:
        with gate.priority(background=True):
            action = gate.get_client().get_action(action_id)
        # The store that died may have died before writing the action's row (written by its
        # thread, after the page answered): without it the rows cannot be stored. archive.py
        # sets stores going and imports this module, so it is imported here, when one runs.
        from .archive import archive_read_again

        archive_read_again(action)
        return of_action(action)()
    return rows


def _store(action_id: str, token: str,
           rows: Callable[[], tuple[FailureSet, Mapping[str, int]]],
           first: Callable[[], None] | None = None) -> None:
    ended = False
    try:
        with singleflight.kept_alive(lock_key(action_id), token, LOCK_SECONDS):
            close_old_connections()
            if first is not None:
                _first(action_id, first)
            try:
                failures, lengths = rows()
            except NotFoundError:  # for good: the panel says so, and nothing reads it again
                logger.warning("Voucherify no longer has %s: its failed rows cannot be stored",
                               action_id)
                if not failed_items.mark_gone(action_id):
                    # Neither row nor summary to say it on (a store that died first): the
                    # cached copy goes, and the page says Voucherify has no such action.
                    economy.forget_actions([action_id])
                ended = True
                return
            with transaction.atomic():
                failed_items.store(action_id, failures, lengths)
            logger.info("Stored the %d failed %s of %s", len(failures), failures.noun, action_id)
            ended = True
    except Exception as exc:  # a thread has nobody to raise to: a later viewer tries again
        logger.exception("Storing the failed rows of %s failed; tried again after %d s",
                         action_id, LOCK_SECONDS)
        cache.set(failed_key(action_id), _why(exc), LOCK_SECONDS * 2)
    finally:
        # A store that did not end keeps the lock until it expires: with Voucherify or the
        # database down, the rows are read again once per LOCK_SECONDS, not on every poll of
        # every panel waiting for them.
        if ended:
            cache.delete(failed_key(action_id))
            release(action_id, token)
        _ended(action_id)
        connection.close()


def _first(action_id: str, write: Callable[[], None]) -> None:
    """The action's row, before its rows. When the archive refuses it, the polling layer's
    copy of the action goes too: it keeps the first rows only, and without the row nothing
    would ever store the rest. The next view reads the action again (and writes the row)."""
    try:
        write()
    except Exception:
        try:
            economy.forget_actions([action_id])
        except Exception:  # the cache down as well: it kept no copy to forget
            logger.warning("Dropping the cached copy of %s failed", action_id, exc_info=True)
        raise


def _why(exc: Exception) -> str:
    where = (f"Voucherify did not give them again: {exc}" if isinstance(exc, VoucherifyError)
             else "the archive did not take them")
    return (f"Storing them failed ({where}). They are tried again within {LOCK_SECONDS} "
            "seconds.")


def wait_all(timeout: float | None = None) -> None:
    """Wait for this process's stores to end (tests, and a worker shutting down cleanly)."""
    with _threads_lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(timeout)


def failures_for(action: Action) -> Failures:
    """failed_items.failures_for, storing the rows again when a store was left unfinished
    (or saying why the last one failed while it waits to be tried again)."""
    lengths = failed_items.kept_apart(action)
    if lengths is not None and storing_here(action.id):
        # No summary to read, no lock to try, no failure to tell: this process is at it.
        return failed_items.loading(action.id, lengths)
    failures = failed_items.failures_for(action)
    if failures.loading and not resume(action.id):
        problem = cache.get(failed_key(action.id))
        if problem:  # the last store failed: the waiting panel says why
            return dataclasses.replace(failures, problem=str(problem))
    return failures
