"""How the polling layer hands finished actions to an archive, and asks it before a detail call.

The polling layer knows no archive: the history app registers one in its AppConfig.ready()
(dashboard/history/polling_archive.py). Without one, NoArchive keeps nothing and knows nothing,
so the layer works alone (its tests, a deployment without the history app).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import Action, ActionPage

from .store import Fetched


class Archive(Protocol):
    """What the polling layer needs from an archive. Implementations must not raise for their
    own faults (a database error): a page is served without the archive instead."""

    def archived(self, action_id: str) -> Fetched[Action] | None:
        """A finished action with its result, so that no upstream call is needed."""
        ...

    def saw_action(self, action: Action, *, detail: bool, read_at: datetime | None = None
                   ) -> None:
        """An action the layer read: `detail` when it came fresh from the detail endpoint;
        `read_at`, when that read was made (the same read seen again may be skipped)."""
        ...

    def saw_page(self, page: ActionPage, cursor: Cursor | None, fetched_at: datetime) -> None:
        """A page the layer read from upstream (`cursor` None: the newest page)."""
        ...

    def kept_final(self, action: Action) -> Action:
        """A terminal action just read from the detail endpoint, archived, as the cache should
        keep it for good (the archive may hold a big result's failed rows apart)."""
        ...


class NoArchive:
    """The archive when none is registered: keeps nothing, knows nothing."""

    def archived(self, action_id: str) -> Fetched[Action] | None:
        return None

    def saw_action(self, action: Action, *, detail: bool, read_at: datetime | None = None
                   ) -> None:
        return None

    def saw_page(self, page: ActionPage, cursor: Cursor | None, fetched_at: datetime) -> None:
        return None

    def kept_final(self, action: Action) -> Action:
        return action


_archive: Archive = NoArchive()


def register(archive: Archive) -> Archive:
    """Make `archive` the one the layer uses; returns the one it replaces."""
    global _archive
    previous, _archive = _archive, archive
    return previous


def current() -> Archive:
    return _archive
