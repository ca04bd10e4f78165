"""The archive as the polling layer sees it (dashboard.polling.archiving.Archive).

Registered by HistoryConfig.ready(). A database fault never breaks a page: it is logged and
the page goes on without the archive.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.db import DatabaseError

from dashboard import after_response, hot
from dashboard.polling.store import Fetched
from dashboard.voucherify.cursor import Cursor, is_valid_action_id
from dashboard.voucherify.models import Action, ActionPage

from . import schema_reads
from .archive import (
    archive_action,
    archive_actions,
    archive_detail,
    archived_detail,
    is_detail_level,
)
from .failed_items import needs_split
from .state import extend_from_newest

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Pages already archived, by (cursor, fetched_at): a page served again from the polling
# cache costs no database write. Actions likewise, by (id, detail, read at): a list poll sees
# the same finished rows on every pass.
_MEMO_SIZE = 256
_ACTION_MEMO_SIZE = 4096
# An id the archive had no detail for, remembered this process's moment (hot.py): the polls
# of a finished action whose result is still to be read would each look it up again. A detail
# read archives it and is kept in the polling cache too, which is asked first.
_MISSING = "archive-missing:"


class DatabaseArchive:
    """Terminal actions the polling layer reads go into ArchivedAction; finished ones are
    served from there without an upstream call."""

    def __init__(self) -> None:
        self._archived_pages: OrderedDict[tuple[str, datetime], None] = OrderedDict()
        self._seen_actions: OrderedDict[tuple[str, bool, datetime], None] = OrderedDict()
        self._memo_lock = threading.Lock()

    def archived(self, action_id: str) -> Fetched[Action] | None:
        if not is_valid_action_id(action_id) or hot.get(_MISSING + action_id):
            return None
        try:
            found = archived_detail(action_id)
            if found is None:
                hot.put(_MISSING + action_id, True)
            if found is not None and needs_split(found[0]):  # archived before results were split
                found = archive_detail(found[0])[0], found[1]
        except DatabaseError:
            logger.exception("Reading action %s from the archive failed", action_id)
            return None
        return Fetched(*found) if found is not None else None

    def kept_final(self, action: Action) -> Action:
        """Archived with a big result's failed rows apart; kept whole should the database
        fail, as before."""
        if not action.is_terminal:
            return action
        hot.forget([_MISSING + action.id])
        try:
            return _noting_purges([action], lambda: archive_detail(action, rows_later=True)[0])
        except DatabaseError:
            logger.exception("Archiving action %s failed", action.id)
            return action

    def saw_action(self, action: Action, *, detail: bool, read_at: datetime | None = None
                   ) -> None:
        """Fresh detail reads are stored with their result; a stale one may be a list item,
        so it is stored list-level, as is a fresh list item (a list row served it while its
        result waits: is_detail_level). Once per read (`read_at`) of it."""
        if not action.is_terminal:
            return
        detail = detail and is_detail_level(action)
        memo = None if read_at is None else (action.id, detail, read_at)
        if memo is not None and not self._first_time(self._seen_actions, memo,
                                                     _ACTION_MEMO_SIZE):
            return
        try:
            _noting_purges([action], lambda: archive_action(action, detail=detail))
        except DatabaseError:
            logger.exception("Archiving action %s failed", action.id)
            if memo is not None:
                self._forget(self._seen_actions, memo)

    def saw_page(self, page: ActionPage, cursor: Cursor | None, fetched_at: datetime) -> None:
        """Archive a page's terminal actions (list-level), once per upstream read of it."""
        memo = (cursor.to_param() if cursor else "", fetched_at)
        if not self._first_time(self._archived_pages, memo, _MEMO_SIZE):
            return
        # Written once the answer is sent: the page (or the poll that refreshed it) does not
        # wait for the inserts, which were a third of a cold list page's own time.
        after_response.run(lambda: self._archive_page(page, cursor, memo, fetched_at))

    def _archive_page(self, page: ActionPage, cursor: Cursor | None, memo: tuple,
                      fetched_at: datetime) -> None:
        try:
            _noting_purges(page.actions, lambda: archive_actions(page.actions))
            if cursor is None:
                extend_from_newest(page.actions, fetched_at)
        except DatabaseError:
            logger.exception("Archiving a page of actions failed")
            self._forget(self._archived_pages, memo)

    def _first_time(self, memos: OrderedDict, memo: tuple, size: int) -> bool:
        """Whether `memo` is new to `memos` (noting it, and dropping the oldest beyond size)."""
        with self._memo_lock:
            if memo in memos:
                return False
            memos[memo] = None
            while len(memos) > size:
                memos.popitem(last=False)
            return True

    def _forget(self, memos: OrderedDict, memo: tuple) -> None:
        """The write failed: the next sight of it tries again."""
        with self._memo_lock:
            memos.pop(memo, None)


def _noting_purges(actions: list[Action], write: Callable[[], T]) -> T:
    """`write` the actions to the archive; a purge among them that the history's schema reads
    can attribute (judged before it is archived) gets a schema read soon."""
    new_purges = schema_reads.new_purges(actions)
    written = write()
    if new_purges:  # the schema now tells which key it purged
        schema_reads.read_soon()
    return written
