"""The archive's covered range and the lock that lets one sync run at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.dates import EARLIEST, MILLISECOND, format_timestamp, parse_timestamp
from dashboard.voucherify.models import Action

from .models import ArchivedAction, SyncState

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
    top = read_top(actions, read_at)
    if top is None:
        return None
    live = [action.created_at for action in actions if not action.is_terminal]
    return _below(top, min(live)) if live else top


def read_top(actions: Sequence[Action], read_at: datetime) -> datetime | None:
    """The newest instant up to which a newest-first walk, read at `read_at`, saw every
    action, running or not (an action dated later than the read allows for lifts nothing)."""
    return max((action.created_at for action in actions
                if action.created_at <= read_at + CLOCK_SKEW), default=None)


def _below(top: datetime, running: datetime) -> datetime | None:
    """`top`, kept below a running action; None when nothing lies below it (running at the
    first representable moment)."""
    if running - EARLIEST < MILLISECOND:
        return None
    return min(top, running - MILLISECOND)


def runner_dates(state: SyncState) -> dict[str, datetime]:
    """The running actions the walks read, by id, with their creation."""
    dates = {}
    for runner in state.runners:
        created = parse_timestamp(runner.get("created_at"))
        if created is not None:
            dates[runner["id"]] = created
    return dates


def _keep_runners(state: SyncState, dates: dict[str, datetime]) -> None:
    state.runners = [{"id": action_id, "created_at": format_timestamp(created)}
                     for action_id, created in dates.items()]


def note_runners(state: SyncState, actions: Sequence[Action]) -> None:
    """What a walk read of running actions: a running one bounds the claim until a later run
    finds it finished; a finished one was archived by the walk that read it."""
    dates = runner_dates(state)
    for action in actions:
        if action.is_terminal:
            dates.pop(action.id, None)
        else:
            dates[action.id] = action.created_at
    _keep_runners(state, dates)


def forget_runners(state: SyncState, action_ids: set[str]) -> None:
    """Runners that are gone upstream: nothing is missing where they were."""
    _keep_runners(state, {i: d for i, d in runner_dates(state).items() if i not in action_ids})


def reach(state: SyncState) -> datetime | None:
    """The top of what the walks read down into the covered range: where a catch-up stops."""
    if state.read_to is None or state.covered_to is None:
        return state.covered_to
    return max(state.read_to, state.covered_to)


def settle(state: SyncState) -> None:
    """Move the claim as far over what the walks read as the runners allow: up to `read_to`
    below the oldest runner above it, down to the read floor above the newest runner below.
    Nothing is read again for it: a finished action never changes, and none is created in
    the past."""
    if state.covered_to is None:
        return
    dates = sorted(runner_dates(state).values())
    top = reach(state)
    above = [created for created in dates if created > state.covered_to]
    if above:
        top = _below(top, above[0])
    if top is not None and top > state.covered_to:
        state.covered_to = top
    below = [created for created in dates if created <= state.covered_to]
    if below:
        state.covered_from, state.bottom_reached = below[-1], False
    elif state.read_bottom:
        if not state.bottom_reached:  # a runner held the claim: it now reaches the oldest
            state.covered_from = _oldest_archived() or state.covered_from
        state.bottom_reached = True
    elif state.resume_cursor:
        floor = Cursor.from_param(state.resume_cursor).before
        if state.covered_from is None or floor < state.covered_from:
            state.covered_from = floor


def _oldest_archived() -> datetime | None:
    return (ArchivedAction.objects.order_by("created_at")
            .values_list("created_at", flat=True).first())


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
