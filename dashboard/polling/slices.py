"""Pages cut from the shared newest-100 list instead of asking Voucherify again."""

from __future__ import annotations

from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import ActionPage
from dashboard.voucherify.paging import build_page, fresh_actions


def newest_slice(page: ActionPage, limit: int) -> ActionPage:
    """The newest `limit` actions of the shared newest list."""
    if limit >= len(page.actions):
        return page
    return build_page(page.actions, page.has_more, None, limit)


def older_slice(page: ActionPage, cursor: Cursor, limit: int) -> ActionPage | None:
    """The page below `cursor` when the newest list holds all of it, else None: paging Older
    through the first hundred actions costs no call beyond that one list."""
    rest = fresh_actions(page.actions, cursor)
    # A whole page left below the cursor, or the list holds every action there is.
    if len(rest) < limit and page.has_more:
        return None
    return build_page(rest, page.has_more, cursor, limit)
