"""Delivering the outbox: claim a due row, send it, record the outcome, back off on failure.

A worker claims a row with one conditional UPDATE (status and lease checked in its WHERE),
which the database applies to one claimant only, on SQLite and PostgreSQL alike: two workers
never send the same row. A worker that dies mid-send leaves its claim to expire after
ALERTS_CLAIM_SECONDS; only then may the row be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .channels import SENDERS, DeliveryError
from .models import Delivery

logger = logging.getLogger(__name__)
BATCH = 50


def due_ids(now: datetime) -> list[int]:
    waiting = Q(status=Delivery.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Delivery.SENDING, claimed_until__lt=now)
    return list(
        Delivery.objects.filter(waiting | abandoned)
        .order_by("next_attempt_at", "id").values_list("id", flat=True)[:BATCH]
    )


def claim(delivery_id: int, worker: str, now: datetime) -> Delivery | None:
    """The row, now ours to send; None when another worker has it or it is done."""
    lease = now + timedelta(seconds=float(settings.ALERTS_CLAIM_SECONDS))
    claimed = Delivery.objects.filter(
        Q(status=Delivery.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.SENDING, claimed_until__lt=now),
        pk=delivery_id,
    ).update(status=Delivery.SENDING, claimed_by=worker, claimed_until=lease)
    return Delivery.objects.select_related("subscription").get(pk=delivery_id) if claimed else None


def backoff_seconds(attempts: int) -> float:
    base = float(settings.ALERTS_RETRY_SECONDS)
    return min(base * 2 ** (attempts - 1), float(settings.ALERTS_RETRY_MAX_SECONDS))


def send(delivery: Delivery) -> None:
    subscription = delivery.subscription
    if subscription is None:
        raise DeliveryError("The subscription was removed before the alert could be sent.")
    SENDERS[subscription.channel](subscription.target, delivery.subject, delivery.payload)


def deliver(delivery: Delivery, now: datetime | None = None) -> bool:
    """Send one claimed row and record the outcome; True when the receiver took it."""
    error = None
    try:
        send(delivery)
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a broken receiver must not stop the other alerts
        logger.exception("Alert %s: sending failed unexpectedly", delivery.id)
        error = f"Unexpected error: {exc.__class__.__name__}: {exc}"
    now = now or timezone.now()
    delivery.attempts += 1
    delivery.claimed_until = None
    if error is None:
        delivery.status, delivery.sent_at, delivery.last_error = Delivery.SENT, now, ""
    else:
        delivery.last_error = error[:2000]
        given_up = delivery.attempts >= int(settings.ALERTS_MAX_ATTEMPTS) \
            or delivery.subscription is None
        delivery.status = Delivery.FAILED if given_up else Delivery.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        logger.warning("Alert %s to %s: attempt %d failed: %s", delivery.id,
                       delivery.recipient, delivery.attempts, error)
    delivery.save(update_fields=["attempts", "claimed_until", "status", "sent_at",
                                 "last_error", "next_attempt_at"])
    return error is None


def deliver_due(worker: str, stopping: Callable[[], bool] = lambda: False) -> tuple[int, int]:
    """Send every due row this worker can claim: (sent, failed attempts). Between rows it
    checks `stopping`, so a stop request waits for the row in flight only."""
    sent = failed = 0
    for delivery_id in due_ids(timezone.now()):
        if stopping():
            break
        delivery = claim(delivery_id, worker, timezone.now())
        if delivery is None:
            continue
        if deliver(delivery):
            sent += 1
        else:
            failed += 1
    return sent, failed
