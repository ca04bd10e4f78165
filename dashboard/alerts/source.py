"""Everything the alerts read about actions, in one place: the polling layer and the archive.

The worker reads through the same polling layer as the pages (shared cache, single flight,
per-minute budget, background priority), so it adds no calls for what a page already read;
a finished action's detail is read once and then served by the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q

from dashboard.history.archive import joined_raw
from dashboard.history.models import PURGE_CONTEXT, ArchivedAction
from dashboard.history.purge_cells import records_updated, user_text
from dashboard.history.schemas import key_attribution
from dashboard.polling import reads as upstream
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

from . import rules
from .models import Delivery

if TYPE_CHECKING:
    from .models import Subscription

NEWEST_PAGE_SIZE = 100  # the same page the list view reads: one shared upstream call
P95_SAMPLE = 500  # the newest finished actions of a type the p95 is taken over
# Finished actions older than the newest page are judged from the archive: those created in
# the last ARCHIVE_LOOKBACK (a worker away for a deploy, a busy hour), ARCHIVE_BATCH per
# evaluation at most, so that an evaluation costs the same whatever the archive holds.
ARCHIVE_LOOKBACK = timedelta(days=3)
ARCHIVE_BATCH = 100
ARCHIVE_CURSOR_KEY = "alerts:archive-cursor"
# The archived rows each rule may alert on (evaluate._judge decides); stuck actions are live,
# never archived.
_ARCHIVED_ROWS = {
    rules.FAILED: Q(status="FAILED"),
    rules.FAILED_ROWS: Q(has_detail=False) | Q(failed_rows__gt=0),  # a list row tells no rows
    rules.PURGE: Q(context=PURGE_CONTEXT),
}

__all__ = [
    "failure_shares",
    "finished_beyond",
    "newest_failed",
    "newest_actions",
    "p95_processing_ms",
    "poll_interval",
    "purge_facts",
    "TypeP95s",
    "refreshed",
    "with_detail",
]


def newest_actions() -> list[Action]:
    """The newest page of actions (live ones refreshed at most once per poll interval).

    Raises VoucherifyError (a short budget among them) only when nothing is known to serve.
    """
    return upstream.fetch_page(limit=NEWEST_PAGE_SIZE, background=True).value.actions


def finished_beyond(page: Sequence[Action], subscriptions: Sequence[Subscription],
                    now: datetime) -> list[tuple[Action, bool]]:
    """Archived finished actions older than the newest `page` that one of `subscriptions`
    may alert on and has not, each with whether it carries its detail (no read needed).

    One batch, newest first; the next evaluation takes the batch after it, and the newest
    again after the last, so actions that stay unalerted (a share of failed rows below the
    rule's, a detail not readable yet) never keep older ones from their turn.
    """
    wanted = [_may_alert(s) for s in subscriptions if s.rule in _ARCHIVED_ROWS]
    if len(page) < NEWEST_PAGE_SIZE or not wanted:
        return []  # the page holds every action there is, or no rule judges finished ones
    rows = ArchivedAction.objects.filter(
        reduce(or_, wanted), created_at__gte=now - ARCHIVE_LOOKBACK,
        created_at__lte=min(action.created_at for action in page),
    ).exclude(pk__in=[action.id for action in page])
    after = cache.get(ARCHIVE_CURSOR_KEY)
    if isinstance(after, tuple):
        rows = rows.filter(Q(created_at__lt=after[0]) | Q(created_at=after[0], pk__lt=after[1]))
    batch = list(rows.order_by("-created_at", "-pk").values_list(
        "pk", "created_at", "raw", "user", "result", "has_detail")[:ARCHIVE_BATCH])
    if len(batch) == ARCHIVE_BATCH:
        last_id, last_created = batch[-1][:2]
        cache.set(ARCHIVE_CURSOR_KEY, (last_created, last_id),
                  int(ARCHIVE_LOOKBACK.total_seconds()))
    else:
        cache.delete(ARCHIVE_CURSOR_KEY)
    return [(Action.from_json(joined_raw(raw, user, result)), has_detail)
            for _, _, raw, user, result, has_detail in batch]


def _may_alert(subscription: Subscription) -> Q:
    """The archived actions the subscription may alert on: its rule's and narrowing's, finished
    since it began (as evaluate._judge wants), and not alerted to it yet."""
    began = subscription.created_at
    found = _ARCHIVED_ROWS[subscription.rule] & (
        Q(updated_at__gte=began) | Q(updated_at__isnull=True, created_at__gte=began))
    if subscription.action_type:
        found &= Q(type=subscription.action_type)
    if subscription.context:
        found &= Q(context=subscription.context)
    alerted = Delivery.objects.filter(subscription_id=subscription.id, event_key=OuterRef("pk"))
    return found & ~Exists(alerted)


def with_detail(action: Action) -> Action | None:
    """The action with its `result`, `user` and `log_id`; None when the detail cannot be read
    now (budget short, upstream failing): the next evaluation tries again."""
    fetched = upstream.fetch_action(action.id, background=True)
    return None if fetched.stale else fetched.value


def refreshed(action_ids: Sequence[str]) -> tuple[dict[str, Action], set[str]]:
    """The actions as read now, at background priority, and the ids Voucherify does not know.

    The polling layer's shared list calls (the newest page, the window of older live actions)
    cover most; a detail call each the rest. An id in neither could not be read now (budget
    short, upstream failing, a 429): the next evaluation tries again.
    """
    try:
        latest = upstream.refresh_live(action_ids)
    except VoucherifyError:  # the naive mode's reads raise; the others leave such ids out
        latest = {}
    fresh = {action_id: fetched.value for action_id, fetched in latest.items()
             if not fetched.stale}  # what is known from before may have finished since
    gone = {action_id for action_id in action_ids
            if action_id not in latest and upstream.not_found(action_id)}
    return fresh, gone


def poll_interval() -> float:
    return upstream.poll_interval()


class TypeP95s(dict):
    """p95_processing_ms of each type asked for, read once per evaluation (the stuck rule asks
    for it on the newest page and on the remembered actions off it)."""

    def __missing__(self, action_type: str) -> int | None:
        self[action_type] = p95 = p95_processing_ms(action_type)
        return p95


def p95_processing_ms(action_type: str) -> int | None:
    """The 95th percentile processing time of the type's archived finished actions."""
    durations = sorted(
        ArchivedAction.objects.filter(type=action_type, duration_ms__isnull=False)
        .order_by("-created_at").values_list("duration_ms", flat=True)[:P95_SAMPLE]
    )
    if not durations:
        return None
    return durations[min(len(durations) - 1, int(0.95 * len(durations)))]


def failure_shares(since: datetime, types: list[str] | None = None,
                   contexts: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """(failed, finished) per type over the archived actions created since `since`."""
    rows = ArchivedAction.objects.filter(created_at__gte=since)
    if types:
        rows = rows.filter(type__in=types)
    if contexts:
        rows = rows.filter(context__in=contexts)
    counted = rows.values("type").annotate(
        failed=Count("id", filter=Q(status="FAILED")), finished=Count("id")
    )
    return {row["type"]: (row["failed"], row["finished"]) for row in counted}


def newest_failed(action_type: str, since: datetime) -> Action | None:
    row = ArchivedAction.objects.filter(
        type=action_type, status="FAILED", created_at__gte=since
    ).order_by("-created_at", "-id").only("raw").first()  # no Meta.ordering: first() is by pk
    return Action.from_json(row.raw) if row is not None else None


def purge_facts(action: Action) -> dict[str, object]:
    """Who started a purge and how many records it updated, as the purge audit reads them.

    `purged_key`: the metadata key when the purge audit's schema history names it
    (Voucherify's purge action does not); None while it cannot, never a guess.
    """
    attribution = key_attribution(action)
    return {
        "who": user_text(action.user),
        "records": records_updated(action.result.raw if action.result else None),
        "purged_key": attribution.keys[0] if attribution.known else None,
    }
