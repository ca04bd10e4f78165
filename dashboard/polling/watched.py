"""The live actions off the newest page that someone polls, so one list call refreshes them all.

The newest page's live actions are refreshed by the one shared newest-page call. Those older
than it are refreshed by one more shared list call, the "window": the 100 actions from the
newest watched one back. An action is watched while polls ask for it (an entry not asked for
in WATCH_INTERVALS intervals is dropped), shared by every process through the cache. A lost
update between processes only means one poll falls back to its own detail call.
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache

from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.dates import floor_ms, plus_ms
from dashboard.voucherify.models import Action

from . import store

WATCHED_KEY = store.key("watched")
WATCH_INTERVALS = 3
WATCH_LIMIT = 200  # the newest of them; a window of 100 covers fewer anyway

Watched = dict[str, tuple[datetime, float]]  # id -> (created_at, when last asked for)


def current(interval: float) -> Watched:
    found = cache.get(WATCHED_KEY)
    if not isinstance(found, dict):
        return {}
    now = store.now()
    return {action_id: entry for action_id, entry in found.items()
            if now - entry[1] < WATCH_INTERVALS * interval}


def watch(action: Action, interval: float) -> Watched:
    """Note that `action` is polled now; the watched actions, this one included."""
    watched = current(interval)
    watched[action.id] = (action.created_at, store.now())
    if len(watched) > WATCH_LIMIT:
        newest = sorted(watched.items(), key=lambda item: item[1][0], reverse=True)
        watched = dict(newest[:WATCH_LIMIT])
    cache.set(WATCHED_KEY, watched, max(1, int(WATCH_INTERVALS * interval + 1)))
    return watched


def window_cursor(watched: Watched) -> Cursor:
    """The cursor of the window: everything created up to the newest watched action."""
    newest = max(created for created, _ in watched.values())
    return Cursor(before=plus_ms(floor_ms(newest)))
