"""A metadata schema read when the dashboard's own polling sees a new purge.

The read runs in a background thread (never inside the page load that saw the purge), one at
a time per process, paid from the shared budget exactly as `sync_actions` pays for its reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from django.db import close_old_connections
from django.db.models import Max, Min

from dashboard.polling.gate import get_client
from dashboard.voucherify.models import Action

from .models import ArchivedAction, SchemaSnapshot

logger = logging.getLogger(__name__)
PURGE_CONTEXT = "METADATA_KEY_PURGE"

_lock = threading.Lock()
_thread: threading.Thread | None = None
_again = False  # another new purge was seen while a read was running
_SEEN_SIZE = 4096
_seen: dict[str, None] = {}  # purge ids already judged (insertion-ordered, bounded)


def new_purges(actions: Iterable[Action]) -> list[str]:
    """Ids of terminal purges among `actions`, not archived yet, that a schema read now would
    attribute: the history holds a snapshot from before each started and none from after it
    finished (a read cannot name the key of a purge older than the history)."""
    purges = {a.id: a for a in actions if a.is_terminal and a.context == PURGE_CONTEXT
              and a.id not in _seen}
    if not purges:
        return []
    span = SchemaSnapshot.objects.aggregate(first=Min("taken_at"), last=Max("confirmed_at"))
    if span["first"] is None:
        return []
    # Older than the history, or already followed by a read: never worth one (both bounds
    # only move outwards), so each is judged once per process.
    settled = [i for i, a in purges.items() if a.created_at < span["first"]
               or span["last"] >= (a.updated_at or a.created_at)]
    _remember(settled)
    wanted = [i for i in purges if i not in settled]
    if not wanted:
        return []
    known = set(ArchivedAction.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    _remember(known)
    return [action_id for action_id in wanted if action_id not in known]


def _remember(purges: Iterable[str]) -> None:
    with _lock:
        _seen.update(dict.fromkeys(purges))
        while len(_seen) > _SEEN_SIZE:
            _seen.pop(next(iter(_seen)))


def read_soon() -> None:
    """Start one background read (or ask the running one to read once more afterwards)."""
    global _thread, _again
    with _lock:
        if _thread is not None and _thread.is_alive():
            _again = True
            return
        _again = False
        _thread = threading.Thread(target=_run, name="metadata-schema-read", daemon=True)
        _thread.start()


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait for the background read (tests, shutdown); True when none is running."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return thread is None or not thread.is_alive()


def _run() -> None:
    global _again
    from .sync import Sync

    try:
        while True:
            Sync(get_client(), max_calls=1).snapshot_schemas()
            with _lock:
                if not _again:
                    return
                _again = False
    except Exception:  # a background read must never take anything down
        logger.exception("Reading the metadata schemas in the background failed")
    finally:
        close_old_connections()
