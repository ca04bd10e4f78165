"""What the polling layer calls: the archive in front of detail reads, and archiving what it
reads. None of these may break a page: any fault (a database error, no database at all) is
logged and the page goes on without the archive."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime

from dashboard.voucherify.cursor import Cursor, is_valid_action_id
from dashboard.voucherify.models import Action, ActionPage

from . import schema_reads
from .archive import archive_action, archive_actions, archived_detail
from .state import extend_from_newest

logger = logging.getLogger(__name__)

# Pages already archived, by (cursor, fetched_at): a page served again from the polling
# cache costs no database write.
_MEMO_SIZE = 256
_archived_pages: OrderedDict[tuple[str, datetime], None] = OrderedDict()
_memo_lock = threading.Lock()


def archived(action_id: str) -> tuple[Action, datetime] | None:
    """The archived detail of a terminal action, so the page needs no upstream call."""
    if not is_valid_action_id(action_id):
        return None
    try:
        return archived_detail(action_id)
    except Exception:  # the archive is optional for every page
        logger.exception("Reading action %s from the archive failed", action_id)
        return None


def saw_action(action: Action, *, stale: bool = False) -> None:
    """A terminal action the layer read: fresh ones come from the detail endpoint; a stale one
    may be a list item, so it is stored list-level."""
    if not action.is_terminal:
        return
    try:
        new_purge = schema_reads.new_purges([action])
        archive_action(action, detail=not stale)
        if new_purge:
            schema_reads.read_soon()
    except Exception:  # the archive is optional for every page
        logger.exception("Archiving action %s failed", action.id)


def saw_page(page: ActionPage, cursor: Cursor | None, fetched_at: datetime) -> None:
    """Archive a page's terminal actions (list-level), once per upstream read of it."""
    memo = (cursor.to_param() if cursor else "", fetched_at)
    with _memo_lock:
        if memo in _archived_pages:
            return
        _archived_pages[memo] = None
        while len(_archived_pages) > _MEMO_SIZE:
            _archived_pages.popitem(last=False)
    try:
        new_purges = schema_reads.new_purges(page.actions)
        archive_actions(page.actions)
        if new_purges:  # the schema now tells which key it purged
            schema_reads.read_soon()
        if cursor is None:
            extend_from_newest(page.actions)
    except Exception:  # the archive is optional for every page
        logger.exception("Archiving a page of actions failed")
        with _memo_lock:
            _archived_pages.pop(memo, None)
