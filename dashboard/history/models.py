"""The archive of terminal async actions and where the backfill walk stands."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ArchivedAction(models.Model):
    """One terminal action as the dashboard last saw it; `raw` is the upstream object.

    `has_detail`: the object came from the detail endpoint (with `result`, `user`, `log_id`),
    so the detail page can be served from here; a list item never replaces such a record.
    """

    id = models.CharField(primary_key=True, max_length=64)
    type = models.CharField(max_length=200)
    context = models.CharField(max_length=32)
    status = models.CharField(max_length=32)
    operation_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    processing_time = models.BigIntegerField(null=True, blank=True)  # ms, detail only
    # processing_time when known, else updated_at - created_at (list items lack the former)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True, db_index=True)
    user = models.JSONField(null=True, blank=True)
    log_id = models.CharField(max_length=100, blank=True)
    result = models.JSONField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    has_detail = models.BooleanField(default=False)
    first_seen = models.DateTimeField()
    last_synced = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="history_created_idx"),
            models.Index(fields=["context", "created_at"], name="history_context_idx"),
            models.Index(fields=["type", "created_at"], name="history_type_idx"),
            models.Index(fields=["status", "created_at"], name="history_status_idx"),
            models.Index(fields=["has_detail", "status"], name="history_detail_idx"),
            # the purge audit counts purges known from the list only (migration 0002)
            models.Index(fields=["context", "has_detail", "created_at"],
                         name="history_ctx_detail_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.status}"


class SyncState(models.Model):
    """A single row (pk 1): the range the archive holds completely, and the run lock.

    Every action created in (covered_from, covered_to] is archived and terminal;
    `bottom_reached` means nothing older exists, so covered_from does not limit.
    """

    SINGLETON = 1

    covered_to = models.DateTimeField(null=True, blank=True)
    covered_from = models.DateTimeField(null=True, blank=True)
    bottom_reached = models.BooleanField(default=False)
    resume_cursor = models.CharField(max_length=4000, blank=True)  # where the older walk goes on
    # A catch-up walk that ran out of calls: it covered (gap_cursor, gap_top] only.
    gap_top = models.DateTimeField(null=True, blank=True)
    gap_cursor = models.CharField(max_length=4000, blank=True)
    first_synced_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_calls = models.PositiveIntegerField(default=0)
    lock_owner = models.CharField(max_length=100, blank=True)
    lock_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="history_syncstate_singleton"),
        ]

    def __str__(self) -> str:
        return f"archive covers ({self.covered_from}, {self.covered_to}]"

    @classmethod
    def load(cls) -> SyncState:
        state, _ = cls.objects.get_or_create(pk=cls.SINGLETON)
        return state

    @classmethod
    def peek(cls) -> SyncState | None:
        """The row if a sync ever ran; never creates it (read-only pages)."""
        return cls.objects.filter(pk=cls.SINGLETON).first()

    @property
    def synced(self) -> bool:
        return self.covered_to is not None


class FailureSummary(models.Model):
    """What a terminal action's failed rows add up to, worked out once when it was archived,
    so the panel and its poll never read the rows themselves.

    `groups` holds only the most frequent reasons; the rest are counted in `other_*`."""

    action = models.OneToOneField(
        ArchivedAction, primary_key=True, on_delete=models.CASCADE, related_name="failure_summary"
    )
    total = models.PositiveIntegerField()
    columns = models.JSONField(default=list)
    noun = models.CharField(max_length=16)
    groups = models.JSONField(default=list)  # [[reason, count], ...], most frequent first
    other_groups = models.PositiveIntegerField(default=0)
    other_count = models.PositiveIntegerField(default=0)
    list_lengths = models.JSONField(default=dict)  # {"failed": n, "errors": m} as received

    def __str__(self) -> str:
        return f"{self.total} failed {self.noun} of {self.action_id}"


class FailedItem(models.Model):
    """One failed row or error of an archived action, in the order Voucherify listed it.

    `cells` lines up with the summary's columns; `search_text` is every cell casefolded, for
    the search box; `reason_hash` indexes reasons of any length."""

    # No index of its own: the (action, position) constraint starts with it.
    action = models.ForeignKey(
        ArchivedAction, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    position = models.PositiveIntegerField()
    reason = models.TextField()
    reason_hash = models.CharField(max_length=32)
    cells = models.JSONField(default=list)
    search_text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "position"], name="history_failed_position"),
        ]
        indexes = [
            models.Index(
                fields=["action", "reason_hash", "position"], name="history_failed_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} #{self.position}"


# The purge audit's records live in their own module; imported here so Django finds them.
from .audit_models import BackfillRun, PurgeNote, SchemaSnapshot  # noqa: E402

__all__ = [
    "ArchivedAction",
    "BackfillRun",
    "FailedItem",
    "FailureSummary",
    "PurgeNote",
    "SchemaSnapshot",
    "SyncState",
]
