"""Turning upstream list responses into pages that, walked in order, hold every action once.

Pure functions: the client fetches, these decide what to keep and where the next page starts.
"""

from __future__ import annotations

from collections.abc import Sequence

from .cursor import Cursor
from .models import Action, ActionPage

MAX_LIMIT = 100


def upstream_limit(limit: int, cursor: Cursor | None) -> int:
    """Ask for the already seen twins on top, so a page is still `limit` long after dropping."""
    extra = len(cursor.seen) if cursor else 0
    return min(MAX_LIMIT, limit + extra)


def fresh_actions(actions: Sequence[Action], cursor: Cursor | None) -> list[Action]:
    """Drop what the cursor says was already returned, and anything newer than it."""
    if cursor is None:
        return list(actions)
    if not cursor.seen:
        return [a for a in actions if a.created_at < cursor.before]
    return [
        a
        for a in actions
        if a.created_at < cursor.before
        or (a.created_at == cursor.before and a.id not in cursor.seen)
    ]


def next_cursor(actions: Sequence[Action], cursor: Cursor | None) -> Cursor:
    """The oldest instant returned so far, with every id returned at that instant."""
    before = min(a.created_at for a in actions)
    seen = {a.id for a in actions if a.created_at == before}
    if cursor is not None and cursor.before == before:
        seen |= cursor.seen
    return Cursor(before=before, seen=frozenset(seen))


def build_page(
    actions: Sequence[Action], upstream_has_more: bool, cursor: Cursor | None, limit: int
) -> ActionPage:
    """At most `limit` actions; `has_more` true when anything older may remain."""
    kept = list(actions[:limit])
    has_more = upstream_has_more or len(actions) > limit
    following = next_cursor(kept, cursor) if has_more and kept else None
    return ActionPage(actions=kept, has_more=has_more and following is not None,
                      next_cursor=following, cursor=cursor)
