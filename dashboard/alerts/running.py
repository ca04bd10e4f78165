"""The running actions the `stuck` rule keeps judging after newer ones push them off the newest
page: a long import or update is exactly what a busy project's newest page loses first, and
running actions are not archived.

The worker remembers the running actions it sees on the page that a stuck subscription
matches (RunningAction rows: they outlive a restart of the worker or of Redis, and every
worker shares them; two judging the same action still alert once, Delivery's uniqueness sees
to that), and refreshes those off the page through the polling layer: the shared window list
call covers most of them, a detail call each the rest, REFRESHED_PER_ROUND of them a round.
Only those that could be stuck now are refreshed (running past the limit of a subscription
not yet alerted to them): one that finishes sooner costs nothing until then, and one alerted
to every subscription it matches is forgotten. So a remembered action costs about one read
in its life, not one a round.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.models import Action

from . import rules, source
from .models import Delivery, RunningAction

if TYPE_CHECKING:
    from .models import Subscription

# At most this many remembered: the oldest, nearest their limit (a queue stuck behind one
# import holds it first). A newer one waits for room, judged on the newest page meanwhile.
REMEMBERED = 50
# Refreshed per round at most, those refreshed longest ago first: whatever is remembered, a
# round costs at most this many detail calls and one window list call beyond the newest page.
REFRESHED_PER_ROUND = 10
# Nothing runs this long; one that does (upstream lost it) is not refreshed forever.
FORGET_AFTER = timedelta(days=7)
_NEVER = datetime.min.replace(tzinfo=UTC)

__all__ = ["FORGET_AFTER", "REFRESHED_PER_ROUND", "REMEMBERED", "off_page"]


def off_page(page: Sequence[Action], subscriptions: Sequence[Subscription],
             now: datetime, p95s: source.TypeP95s) -> list[Action]:
    """The remembered actions that are off `page` and still running, as read now, for the
    stuck `subscriptions` to judge as they judge the page's.

    Remembers the page's running actions they match; forgets those seen finished (on the page
    or refreshed), those Voucherify answers 404 for, those older than FORGET_AFTER and those
    no subscription matches. No subscriptions: no query and no call.
    """
    if not subscriptions:
        return []
    due = _due(_remember(page, subscriptions, now), page, subscriptions, now, p95s)
    if not due:
        return []
    latest, gone = source.refreshed(due)
    RunningAction.objects.filter(pk__in=due).update(checked_at=now)
    _forget(gone | {action_id for action_id, action in latest.items() if not action.is_live})
    return [action for action in latest.values() if action.is_live]


def _due(remembered: list[RunningAction], page: Sequence[Action],
         subscriptions: Sequence[Subscription], now: datetime,
         p95s: source.TypeP95s) -> list[str]:
    """The remembered ids off the page to refresh this round: those that could be stuck now,
    REFRESHED_PER_ROUND at most, those refreshed longest ago (or never) first, so that each
    has its turn. Those alerted to every subscription they match are forgotten."""
    on_page = {action.id for action in page}
    off = [row for row in remembered if row.id not in on_page]
    alerted = set(Delivery.objects.filter(
        subscription__in=subscriptions, event_key__in=[row.id for row in off],
    ).values_list("subscription_id", "event_key"))
    due, done = [], set()
    for row in off:
        waiting = [s for s in subscriptions
                   if s.matches(row.type, row.context) and (s.id, row.id) not in alerted]
        if not waiting:
            done.add(row.id)
        elif _past_a_limit(row, waiting, now, p95s):
            due.append(row)
    _forget(done)
    due.sort(key=lambda row: (row.checked_at or _NEVER, row.created_at))
    # Newest first: the window the first one opens (the 100 actions back from it) then
    # covers the older ones; oldest first, each newer one would open a window of its own.
    return [row.id for row in sorted(due[:REFRESHED_PER_ROUND],
                                     key=lambda row: row.created_at, reverse=True)]


def _past_a_limit(row: RunningAction, subscriptions: Sequence[Subscription], now: datetime,
                  p95s: source.TypeP95s) -> bool:
    """Whether the action, were it still running, would be stuck for one of them now."""
    running_ms = (now - row.created_at).total_seconds() * 1000
    return any(running_ms > rules.stuck_limit_ms(s.stuck_factor, s.stuck_minutes, p95s[row.type])
               for s in subscriptions)


def _remember(page: Sequence[Action], subscriptions: Sequence[Subscription],
              now: datetime) -> list[RunningAction]:
    """What is remembered once the page is seen: the rows kept, oldest first, and the page's
    running actions added while there is room."""
    finished = {action.id for action in page if not action.is_live}

    def wanted(row: RunningAction) -> bool:
        return (row.id not in finished and row.created_at >= now - FORGET_AFTER
                and any(s.matches(row.type, row.context) for s in subscriptions))

    rows = list(RunningAction.objects.order_by("created_at", "id"))
    kept = [row for row in rows if wanted(row)][:REMEMBERED]
    _forget({row.id for row in rows} - {row.id for row in kept})
    known = {row.id for row in rows}
    seen = [RunningAction(id=action.id, created_at=action.created_at, type=action.type,
                          context=action.context)
            for action in sorted(page, key=lambda action: action.created_at)
            if action.is_live and action.id not in known and is_valid_action_id(action.id)]
    added = [row for row in seen if wanted(row)][:REMEMBERED - len(kept)]
    if added:  # a conflict: another worker remembered it first
        RunningAction.objects.bulk_create(added, ignore_conflicts=True)
    return kept + added


def _forget(action_ids: Collection[str]) -> None:
    if action_ids:
        RunningAction.objects.filter(pk__in=list(action_ids)).delete()
