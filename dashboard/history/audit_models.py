"""The purge audit's own records: metadata schema snapshots, auditors' notes, backfill runs.

Kept apart from the archive's models (models.py imports them so Django finds them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SchemaSnapshot(models.Model):
    """One object type's metadata keys as read from Voucherify, stored only when they changed.

    `keys` is {metadata key: marked deleted}; the content was seen from `taken_at` (first
    read) to `confirmed_at` (the latest read that found it unchanged).
    """

    related_object = models.CharField(max_length=100)
    keys = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    schema_updated_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField()
    confirmed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["related_object", "taken_at"], name="history_schema_idx")]

    def __str__(self) -> str:
        return f"{self.related_object} schema at {self.taken_at:%Y-%m-%d %H:%M}"


class AppendOnly(models.Model):
    """Rows are written once: saving an existing row or deleting one is refused."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise PermissionError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{type(self).__name__} rows are append-only.")


class PurgeNote(AppendOnly):
    """An auditor's note on one purge: a ticket, a reason, the key when known from elsewhere."""

    action_id = models.CharField(max_length=64, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL)
    author_name = models.CharField(max_length=150)  # kept when the user is deleted
    written_at = models.DateTimeField(auto_now_add=True)
    ticket = models.CharField(max_length=100, blank=True)
    key = models.CharField(max_length=200, blank=True)
    text = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"note by {self.author_name} on {self.action_id}"


class BackfillRun(models.Model):
    """A bounded backfill an auditor started from the purge audit (one runs at a time)."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    since = models.DateTimeField(null=True, blank=True)  # walk back no further than this
    max_calls = models.PositiveIntegerField()
    state = models.CharField(max_length=16, default=QUEUED)
    phase = models.CharField(max_length=40, blank=True)
    pages = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    details = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    oldest = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"backfill {self.pk} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state in (self.QUEUED, self.RUNNING)
