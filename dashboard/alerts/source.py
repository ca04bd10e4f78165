"""Everything the alerts read about actions, in one place: the polling layer and the archive.

The worker reads through the same polling layer as the pages (shared cache, single flight,
per-minute budget, background priority), so it adds no calls for what a page already read;
a finished action's detail is read once and then served by the archive.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from dashboard.history.models import ArchivedAction
from dashboard.history.purge_cells import records_updated, user_text
from dashboard.history.schemas import key_attribution
from dashboard.polling import reads as upstream
from dashboard.voucherify.models import Action

NEWEST_PAGE_SIZE = 100  # the same page the list view reads: one shared upstream call
P95_SAMPLE = 500  # the newest finished actions of a type the p95 is taken over

__all__ = [
    "failure_shares",
    "newest_failed",
    "newest_actions",
    "p95_processing_ms",
    "poll_interval",
    "purge_facts",
    "with_detail",
]


def newest_actions() -> list[Action]:
    """The newest page of actions (live ones refreshed at most once per poll interval).

    Raises VoucherifyError (a short budget among them) only when nothing is known to serve.
    """
    return upstream.fetch_page(limit=NEWEST_PAGE_SIZE, background=True).value.actions


def with_detail(action: Action) -> Action | None:
    """The action with its `result`, `user` and `log_id`; None when the detail cannot be read
    now (budget short, upstream failing): the next evaluation tries again."""
    fetched = upstream.fetch_action(action.id, background=True)
    return None if fetched.stale else fetched.value


def poll_interval() -> float:
    return upstream.poll_interval()


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
