"""One evaluation: every subscription's rule against what is known, new alerts into the outbox.

Nothing is sent here. An alert becomes one Delivery row keyed by (subscription, event), so
evaluating the same actions again, or in two workers at once, adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from dashboard.voucherify.models import Action

from . import rules, running, source
from .messages import compose
from .models import Delivery, Subscription

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something a rule noticed: `key` names it once per subscription (an action id, or a
    type and time window for failure-share); `facts` are what the message tells."""

    rule: str
    key: str
    action: Action
    facts: dict = field(default_factory=dict)


def evaluate(now: datetime | None = None) -> int:
    """Evaluate every subscription once; returns how many alerts were added to the outbox.

    Judges the newest page, the running actions remembered from it that are older than it now
    (running.off_page), and finished actions older than it from the archive (a batch per
    evaluation: source.finished_beyond). With no subscriptions it makes no upstream call.
    Raises VoucherifyError when the newest actions are unknown and cannot be read (budget
    short, upstream down).
    """
    now = now or timezone.now()
    subscriptions = _allowed(Subscription.objects.select_related("owner"))
    if not subscriptions:
        return 0
    # Read even for failure-share alone: the newest page also keeps the archive current.
    page = source.newest_actions()
    per_action = [s for s in subscriptions if s.rule != rules.FAILURE_SHARE]
    events: list[tuple[Subscription, Event]] = []
    if per_action:
        p95s = source.TypeP95s()
        # Before the archive's batch: what the refresh sees finished is archived for it.
        running_off = running.off_page(page, [s for s in per_action if s.rule == rules.STUCK],
                                       now, p95s)
        beyond = source.finished_beyond(page, per_action, now)
        details: dict[str, Action | None] = {
            action.id: action for action, detailed in beyond if detailed}
        actions = page + running_off + [action for action, _ in beyond]
        events = _action_events(per_action, actions, now, details, p95s)
    events += _share_events([s for s in subscriptions if s.rule == rules.FAILURE_SHARE], now)
    return _enqueue(events, now)


def _allowed(subscriptions: Iterable[Subscription]) -> list[Subscription]:
    """A person's subscriptions carry their role as it is now: one who lost a role no longer
    gets what it allowed (their subscription stays, silent, until the role returns)."""
    allowed = []
    for subscription in subscriptions:
        if subscription.owner is not None:
            subscription.audience = rules.audience_of(subscription.owner)
        if subscription.audience in rules.RULE_AUDIENCES[subscription.rule]:
            allowed.append(subscription)
    return allowed


def _action_events(subscriptions: list[Subscription], actions: list[Action], now: datetime,
                   details: dict[str, Action | None], p95s: source.TypeP95s,
                   ) -> list[tuple[Subscription, Event]]:
    """`details`: actions known with their detail already (read at most once per evaluation)."""
    done = set(
        Delivery.objects.filter(
            subscription__in=subscriptions, action_id__in=[a.id for a in actions]
        ).values_list("subscription_id", "event_key")
    )
    found = []
    for action in actions:
        for subscription in subscriptions:
            if (subscription.id, action.id) in done or not subscription.matches(
                action.type, action.context
            ):
                continue
            event = _judge(subscription, action, now, details, p95s)
            if event is not None:
                found.append((subscription, event))
    return found


def _judge(subscription: Subscription, action: Action, now: datetime,
           details: dict[str, Action | None], p95s: source.TypeP95s) -> Event | None:
    rule = subscription.rule
    if rule == rules.STUCK:
        return _stuck(subscription, action, now, p95s)
    finished_at = action.updated_at or action.created_at
    # Only what finished since the subscription began: no flood of old news when subscribing.
    if not action.is_terminal or finished_at < subscription.created_at:
        return None
    if rule == rules.FAILED and action.status != "FAILED":
        return None
    if rule == rules.PURGE and action.context != "METADATA_KEY_PURGE":
        return None
    if action.id not in details:
        details[action.id] = source.with_detail(action)  # once per action and evaluation
    detailed = details[action.id]
    if detailed is None:
        return None  # not readable now; judged again next time
    if rule == rules.FAILED_ROWS:
        return _failed_rows(subscription, detailed)
    facts = source.purge_facts(detailed) if rule == rules.PURGE else {}
    return Event(rule, action.id, detailed, facts | _counts(detailed))


def _counts(action: Action) -> dict:
    result = action.result
    if result is None:
        return {"failed_count": None, "total": None, "percent": None}
    failed = result.failed_count
    if failed is None and (result.failed or result.errors):
        failed = len(result.failed) + len(result.errors)
    total = None
    if failed is not None and result.done_count is not None:
        total = result.done_count + failed
    percent = round(100 * failed / total, 1) if total else None
    return {"failed_count": failed, "total": total, "percent": percent}


def _failed_rows(subscription: Subscription, action: Action) -> Event | None:
    counts = _counts(action)
    failed, percent = counts["failed_count"], counts["percent"]
    if not failed:
        return None
    by_rows = subscription.min_failed is not None and failed >= subscription.min_failed
    by_share = (subscription.min_failed_percent is not None and percent is not None
                and percent >= subscription.min_failed_percent)
    if not (by_rows or by_share):
        return None
    return Event(rules.FAILED_ROWS, action.id, action, counts)


def _stuck(subscription: Subscription, action: Action, now: datetime,
           p95s: source.TypeP95s) -> Event | None:
    if not action.is_live:
        return None
    p95 = p95s[action.type]
    limit_ms = rules.stuck_limit_ms(subscription.stuck_factor, subscription.stuck_minutes, p95)
    running_ms = (now - action.created_at).total_seconds() * 1000
    if running_ms <= limit_ms:
        return None
    return Event(rules.STUCK, action.id, action, {
        "running_ms": int(running_ms), "limit_ms": int(limit_ms), "p95_ms": p95,
        "factor": subscription.stuck_factor, "minutes": subscription.stuck_minutes,
    })


def _share_events(subscriptions: Iterable[Subscription],
                  now: datetime) -> list[tuple[Subscription, Event]]:
    found = []
    for subscription in subscriptions:
        hours = subscription.share_hours
        since = now - timedelta(hours=hours)
        shares = source.failure_shares(
            since,
            types=[subscription.action_type] if subscription.action_type else None,
            contexts=[subscription.context] if subscription.context else None,
        )
        # One alert per type and window of H hours while the share stays above X %.
        window = int(now.timestamp() // (hours * 3600))
        for action_type, (failed, finished) in sorted(shares.items()):
            percent = 100 * failed / finished if finished else 0.0
            if not failed or percent <= (subscription.share_percent or 0):
                continue
            newest = source.newest_failed(action_type, since)
            if newest is None:
                continue
            found.append((subscription, Event(
                rules.FAILURE_SHARE, f"{action_type}@{window}", newest,
                {"failed": failed, "finished": finished, "percent": round(percent, 1),
                 "hours": hours, "above": subscription.share_percent},
            )))
    return found


def _enqueue(events: list[tuple[Subscription, Event]], now: datetime) -> int:
    if not events:
        return 0
    rows = []
    for subscription, event in events:
        try:
            message = compose(event, subscription.audience)
        except Exception:  # one unusable action (an id no page can link) must not stop the rest
            logger.exception("Alerts: no %s alert could be composed for action %s",
                             event.rule, event.action.id)
            continue
        rows.append(Delivery(
            subscription=subscription, owner_id=subscription.owner_id, event_key=event.key,
            rule=event.rule, channel=subscription.channel, recipient=subscription.recipient,
            action_id=event.action.id, subject=message.subject, text=message.text,
            payload=message.payload, next_attempt_at=now,
        ))
    before = Delivery.objects.count()
    # A conflict is an alert some evaluation already added: it stays as it is.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    added = Delivery.objects.count() - before
    if added:
        logger.info("Alerts: %d new in the outbox", added)
    return added
