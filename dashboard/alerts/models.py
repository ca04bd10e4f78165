"""Alert subscriptions (who gets which rule, how), the outbox of deliveries, and the running
actions the `stuck` rule remembers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dashboard.voucherify.cursor import ACTION_ID_MAX_LENGTH

from . import rules


class Subscription(models.Model):
    """One rule, narrowed or not, delivered to one recipient over one channel.

    `audience` is the role whose view of the data the alert carries: the owner's role for a
    person's own e-mail subscription, chosen by an admin for webhooks and the command line.
    """

    EMAIL, WEBHOOK, APPRISE = "email", "webhook", "apprise"
    CHANNELS = [(EMAIL, "E-mail"), (WEBHOOK, "Webhook (JSON POST)"), (APPRISE, "Apprise URL")]

    rule = models.CharField(max_length=32, choices=[(name, name) for name in rules.RULES])
    action_type = models.CharField(max_length=200, blank=True)  # only this type, when set
    context = models.CharField(max_length=32, blank=True)  # only this context, when set
    min_failed = models.PositiveIntegerField(null=True, blank=True)  # failed-rows: N rows
    min_failed_percent = models.FloatField(null=True, blank=True)  # failed-rows: X %
    stuck_factor = models.FloatField(default=rules.DEFAULT_STUCK_FACTOR)  # stuck: k × p95
    stuck_minutes = models.FloatField(default=rules.DEFAULT_STUCK_MINUTES)  # stuck: at least M
    share_percent = models.FloatField(null=True, blank=True)  # failure-share: more than X %
    share_hours = models.FloatField(default=rules.DEFAULT_SHARE_HOURS)  # ... in the last H h
    channel = models.CharField(max_length=16, choices=CHANNELS)
    target = models.CharField(max_length=2000)  # an e-mail address or a URL
    audience = models.CharField(max_length=16, choices=[(a, a) for a in rules.AUDIENCES])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="alert_subscriptions",
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.id} {self.rule} → {self.channel} {self.recipient}"

    @property
    def recipient(self) -> str:
        """The target as it may be shown: URLs lose their path, which often holds a secret."""
        return rules.masked(self.target) if self.channel != self.EMAIL else self.target

    @property
    def narrowing(self) -> str:
        return " ".join(part for part in (self.context, self.action_type) if part) or "all types"

    def matches(self, action_type: str, context: str) -> bool:
        return (not self.action_type or self.action_type == action_type) and (
            not self.context or self.context == context
        )


class Delivery(models.Model):
    """One alert for one subscription and one event: the outbox row and its history.

    The unique (subscription, event_key) makes an alert exactly one row whoever evaluates it;
    a worker claims a row with one conditional UPDATE before sending, so two workers never
    send the same row.
    """

    PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
    STATUSES = [(PENDING, "pending"), (SENDING, "sending"), (SENT, "sent"), (FAILED, "gave up")]

    subscription = models.ForeignKey(
        Subscription, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    owner = models.ForeignKey(  # the subscription's owner, kept when it is removed
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="alert_deliveries",
    )
    event_key = models.CharField(max_length=300)  # the action id, or type + window
    rule = models.CharField(max_length=32)
    channel = models.CharField(max_length=16)
    recipient = models.CharField(max_length=2000)  # as it may be shown (masked URL)
    action_id = models.CharField(max_length=64, blank=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_key"], name="alerts_delivery_once",
                condition=Q(subscription__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alerts_due_idx")]

    def __str__(self) -> str:
        return f"{self.rule} {self.event_key} → {self.recipient}: {self.status}"


class RunningAction(models.Model):
    """A running action the worker saw on the newest page, remembered for the `stuck` rule:
    newer actions push a long import off that page, and it must still be judged (running.py).
    """

    id = models.CharField(primary_key=True, max_length=ACTION_ID_MAX_LENGTH)
    created_at = models.DateTimeField()
    type = models.TextField()  # any length upstream sends: no row refused for a long one
    context = models.CharField(max_length=32)
    checked_at = models.DateTimeField(null=True, blank=True)  # last refreshed off the page

    def __str__(self) -> str:
        return f"{self.id} {self.type} (created {self.created_at:%Y-%m-%d %H:%M})"
