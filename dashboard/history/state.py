"""The archive's covered range and the lock that lets one sync run at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from dashboard.voucherify.dates import EARLIEST, MILLISECOND
from dashboard.voucherify.models import Action

from .models import SyncState

CLOCK_SKEW = timedelta(minutes=1)  # how far ahead of our clock an upstream date can be
LOCK_SECONDS = 600  # a run renews it every page; a crashed run's lock lapses after this


def covered_top(actions: Sequence[Action], read_at: datetime) -> datetime | None:
    """The newest instant up to which a newest-first walk, read at `read_at`, saw every
    action and only terminal ones; None when it can claim nothing.

    A live action is not archived, so the archive is complete only below the oldest one.
    An action dated later than the read allows for (a hostile value, a clock far off) lifts
    nothing: the claim would cover actions not created yet, and the catch-ups that stop at
    the claim would never walk them.
    """
    top = max((action.created_at for action in actions
               if action.created_at <= read_at + CLOCK_SKEW), default=None)
    if top is None:
        return None
    live = [action.created_at for action in actions if not action.is_terminal]
    if live:
        oldest_live = min(live)
        if oldest_live - EARLIEST < MILLISECOND:
            return None  # running at the first representable moment: nothing lies below it
        top = min(top, oldest_live - MILLISECOND)
    return top


def extend_from_newest(actions: Sequence[Action], fetched_at: datetime) -> bool:
    """After the newest page's terminal actions were archived: when that page reaches down
    into the covered range, the range now reaches up to the page's top (no sync needed)."""
    top = covered_top(actions, read_at=fetched_at)
    if top is None:
        return False
    oldest = min(action.created_at for action in actions)
    return (
        SyncState.objects.filter(
            pk=SyncState.SINGLETON,
            covered_to__isnull=False,
            covered_to__gte=oldest,
            covered_to__lt=top,
            gap_top__isnull=True,
        ).update(covered_to=top)
        == 1
    )


def acquire_lock(owner: str, seconds: int = LOCK_SECONDS) -> bool:
    """Take (or renew) the sync lock; False while another owner holds it."""
    SyncState.load()
    now = timezone.now()
    free = Q(lock_until__isnull=True) | Q(lock_until__lt=now) | Q(lock_owner=owner)
    updated = SyncState.objects.filter(free, pk=SyncState.SINGLETON).update(
        lock_owner=owner, lock_until=now + timedelta(seconds=seconds)
    )
    return updated == 1


def release_lock(owner: str) -> None:
    SyncState.objects.filter(pk=SyncState.SINGLETON, lock_owner=owner).update(
        lock_owner="", lock_until=None
    )


def lock_holder() -> tuple[str, datetime] | None:
    state = SyncState.peek()
    if state is None or state.lock_until is None or state.lock_until < timezone.now():
        return None
    return state.lock_owner, state.lock_until
