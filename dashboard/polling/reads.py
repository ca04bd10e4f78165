"""The only way views reach Voucherify: every upstream read goes through these functions.

Behind them is the polling economy (dashboard/polling/; README.md): a shared
cache, single flight, one list call refreshing every live action on the newest page, terminal
actions read once, and a hard per-minute budget shared by all processes. They raise
VoucherifyError only when nothing is known to serve; otherwise a short budget or a failing
upstream gives a `Fetched` marked `stale` with the `problem`.

VOUCHERIFY_POLLING_MODE=naive bypasses all of it but the budget's gate (every read is an
upstream call), for the benchmark's comparison only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings

from dashboard import hot
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import Action, ActionPage

from . import archiving, askers, budget, economy, gate, store
from .gate import get_client
from .store import Fetched

__all__ = [
    "Fetched",
    "fetch_action",
    "fetch_page",
    "fetch_result",
    "newest_read",
    "get_client",
    "not_found",
    "poll_interval",
    "refresh_live",
]


def naive() -> bool:
    return settings.VOUCHERIFY_POLLING_MODE == "naive"


def _now() -> datetime:
    return datetime.now(UTC)


def fetch_page(
    *, limit: int = 100, cursor: Cursor | None = None, background: bool = False
) -> Fetched[ActionPage]:
    """One page of actions, newest first (cursor=None) or older (cursor from the last page)."""
    if naive():
        return Fetched(get_client().list_actions(limit=limit, cursor=cursor), _now())
    fetched = economy.fetch_page(get_client(), limit=limit, cursor=cursor, background=background)
    archiving.current().saw_page(fetched.value, cursor, fetched.fetched_at)
    return fetched


def fetch_action(action_id: str, *, background: bool = False) -> Fetched[Action]:
    """One action; its `result` once it is terminal (a live one may come from the list)."""
    if naive():
        return Fetched(get_client().get_action(action_id), _now())
    cached = economy.cached_action(action_id)  # final, or live and fresh: no archive lookup
    if cached is not None:
        _note_viewed(cached)
        return cached
    archive = archiving.current()
    archived = archive.archived(action_id)  # a finished action the archive holds: no call
    if archived is not None:
        return archived
    fetched = economy.fetch_action(get_client(), action_id, background=background,
                                   served_checked=True)
    _saw_stand_in(archive, fetched)
    _note_viewed(fetched)
    return fetched


def _note_viewed(fetched: Fetched[Action]) -> None:
    """A running action's page or panel a person looks at (budget.note_panel_open)."""
    if fetched.value.is_live and askers.current().purpose in (askers.PAGE, askers.POLL):
        budget.note_panel_open()


def fetch_result(action_id: str) -> Fetched[Action]:
    """A finished action with its result, at background priority, from the archive when it
    holds it (the list's failed-row counts: read once, then kept for good). A call for it
    leaves part of the results' calls to open panels (gate.for_list_rows)."""
    if naive():
        return Fetched(get_client().get_action(action_id), _now())
    archive = archiving.current()
    archived = archive.archived(action_id)
    if archived is not None:
        return archived
    with gate.for_list_rows():
        fetched = economy.fetch_result(get_client(), action_id)
    _saw_stand_in(archive, fetched)
    return fetched


def _saw_stand_in(archive: archiving.Archive, fetched: Fetched[Action]) -> None:
    """A fresh detail read was archived as the cache keeps it (Archive.kept_final, once per
    upstream read); a stale answer is a list item standing in for it, archived list-level."""
    if fetched.stale:
        archive.saw_action(fetched.value, detail=False, read_at=fetched.fetched_at)


def newest_read() -> ActionPage | None:
    """The shared newest page as last read, however old; never an upstream call."""
    known = economy.newest_known()
    return known.value if known is not None else None


def refresh_live(ids: Sequence[str]) -> dict[str, Fetched[Action]]:
    """Latest state of live actions for one poll of many rows; ids nothing is known of are left
    out (the row keeps what it showed). Background priority."""
    if naive():
        return {action_id: fetch_action(action_id) for action_id in dict.fromkeys(ids)}
    latest = economy.refresh_live(get_client(), ids)
    archive = archiving.current()
    for fetched in latest.values():
        archive.saw_action(fetched.value, detail=not fetched.stale, read_at=fetched.fetched_at)
    return latest


def not_found(action_id: str) -> bool:
    """Voucherify answered 404 for this id lately (a read just made, refresh_live's among
    them, which leaves such ids out); never an upstream call."""
    return not naive() and economy.not_found(action_id)


def poll_interval() -> float:
    """Seconds an htmx client should wait before its next poll.

    ACTIONS_POLL_INTERVAL normally; longer until the upstream's retry moment (a 429, or its
    X-Rate-Limit-Remaining at the reserve), by at most one interval while the dashboard's own
    window has no call for background refreshes, three intervals while the upstream is
    failing; never more than ACTIONS_MAX_POLL_INTERVAL. Worked out once per process for a
    fraction of a second (hot.py): every poll's answer carries it.
    """
    base = float(settings.ACTIONS_POLL_INTERVAL)
    if naive():
        return base
    return hot.remembered("polling:interval", lambda: _poll_interval(base))


def _poll_interval(base: float) -> float:
    longest = max(base, float(settings.ACTIONS_MAX_POLL_INTERVAL))
    now = store.now()
    # The own window frees a call every few seconds as it slides, to whichever poll comes
    # first; telling every viewer to wait for it longer only delays what they all see next
    # (sending them back at once, in step), while a poll between costs next to nothing.
    held, failing = budget.held_and_failing(now)
    seconds = max(base, held, min(budget.seconds_until_room(background=True, now=now), 2 * base))
    if failing:
        seconds = max(seconds, 3 * base)
    return round(min(longest, seconds), 1)
