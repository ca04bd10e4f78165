"""The archive of terminal async actions and where the backfill walk stands."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from dashboard.voucherify.cursor import ACTION_ID_MAX_LENGTH

from . import purge_index

PURGE_CONTEXT = "METADATA_KEY_PURGE"
PURGE_INDEX = "history_purge_idx"
PURGE_TYPE_INDEX = "history_purge_type_idx"


class DetailWanted(models.IntegerChoices):
    PURGE = 1, "purge"  # who started it and how many records it updated
    FAILED = 2, "failed"  # the failed rows


class ArchivedAction(models.Model):
    """One terminal action as the dashboard last saw it; `raw` is the upstream object
    without `result` and `user` when those are kept in their own columns (stored once;
    archive.to_action puts them back).

    `has_detail`: the object came from the detail endpoint (with `result`, `user`, `log_id`),
    so the detail page can be served from here; a list item never replaces such a record.
    `detail_wanted`: a purge or a FAILED action without its detail yet (what the sync fetches
    next), NULL otherwise, so that a small partial index answers it in order.
    """

    id = models.CharField(primary_key=True, max_length=ACTION_ID_MAX_LENGTH)
    type = models.CharField(max_length=200)
    context = models.CharField(max_length=32)
    status = models.CharField(max_length=32)
    operation_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    processing_time = models.BigIntegerField(null=True, blank=True)  # ms, detail only
    # processing_time when known, else updated_at - created_at (list items lack the former)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    # Indexed by Meta.indexes, not db_index: no unused varchar_pattern_ops copy on PostgreSQL.
    request_id = models.CharField(max_length=100, blank=True)
    user = models.JSONField(null=True, blank=True)
    log_id = models.CharField(max_length=100, blank=True)
    result = models.JSONField(null=True, blank=True)
    # The purge audit's cells, worked out once when stored (purge_cells.user_text and, for purges,
    # purge_cells.records_updated as text), so its pages and CSV never parse `user` or `result`.
    started_by = models.TextField(blank=True)
    records_updated = models.TextField(blank=True)
    raw = models.JSONField(default=dict)
    has_detail = models.BooleanField(default=False)
    # Failed rows its detail's result tells (NULL without a detail): a DONE action with some
    # is "Done with failures" on the list, the overview and in the rollups.
    failed_rows = models.PositiveIntegerField(null=True, blank=True)
    detail_wanted = models.PositiveSmallIntegerField(
        choices=DetailWanted.choices, null=True, blank=True)
    first_seen = models.DateTimeField()
    last_synced = models.DateTimeField()

    class Meta:
        # No Meta.ordering: every reader orders explicitly, the overview never needs a sort.
        indexes = [
            models.Index(fields=["created_at", "id"], name="history_created_idx"),
            models.Index(fields=["context", "created_at"], name="history_context_idx"),
            models.Index(fields=["type", "created_at"], name="history_type_idx"),
            models.Index(fields=["status", "created_at"], name="history_status_idx"),
            # "Done with failures" (status DONE, failed_rows > 0): the list's count of a complete
            # filter reads this index alone instead of every DONE row (1 s at a million).
            models.Index(fields=["status", "failed_rows", "created_at"],
                         name="history_failures_idx"),
            # The purge audit's counts (how many, how many known from the list only) and an
            # object filter's pages: one purge type's entries alone, in created_at order.
            models.Index(fields=["type", "created_at"], name=PURGE_TYPE_INDEX,
                         condition=Q(context=PURGE_CONTEXT), include=["has_detail"]),
            models.Index(fields=["request_id"], name="history_request_idx"),
            # The purge audit's pages and CSV (purge_reads.py): purges only, in their order,
            # with every column they read (purge_index.py; on SQLite in its key: 0008).
            models.Index(fields=["created_at", "id"], name=PURGE_INDEX,
                         condition=Q(context=PURGE_CONTEXT), include=list(purge_index.INCLUDED)),
            models.Index(fields=["detail_wanted", "-created_at", "-id"],
                         name="history_detail_wanted_idx",
                         condition=Q(detail_wanted__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.status}"


def column_length(name: str) -> int:
    """How long a text column of the archive is: a longer value is stored cut to it."""
    return ArchivedAction._meta.get_field(name).max_length


class DayCount(models.Model):
    """Rollup: archived actions per UTC day, type, status, failure (FAILED status or
    operation status) and whether failed rows are known (`with_failed_rows`, from the
    detail), kept by archive.py and prune.py as rows come and go."""

    day = models.DateField()
    type = models.CharField(max_length=200)
    status = models.CharField(max_length=32)
    failed = models.BooleanField()
    with_failed_rows = models.BooleanField(default=False)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "type", "status", "failed", "with_failed_rows"],
                                    name="history_daycount_outcome_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.type} {self.status}: {self.count}"


class DurationCount(models.Model):
    """Rollup: archived actions per UTC day, type and duration bucket (two significant
    digits of milliseconds, see rollups.bucket_of), for the overview's percentiles."""

    day = models.DateField()
    type = models.CharField(max_length=200)
    bucket_ms = models.BigIntegerField()
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "type", "bucket_ms"],
                                    name="history_durationcount_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.type} {self.bucket_ms} ms: {self.count}"


class WindowDuration(models.Model):
    """Rollup: DurationCount summed over the days from RollupWindow.start on (the overview's
    30 days), so its percentiles read one small histogram per type instead of 30."""

    type = models.CharField(max_length=200)
    bucket_ms = models.BigIntegerField()
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["type", "bucket_ms"], name="history_window_key"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.bucket_ms} ms: {self.count}"


class RollupWindow(models.Model):
    """A single row (pk 1): the first day WindowDuration counts. Archive writes lock it, so
    a roll to the next day and a write never miss each other."""

    SINGLETON = 1

    start = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"durations counted from {self.start}"


class SyncState(models.Model):
    """A single row (pk 1): the range the archive holds completely, and the run lock.

    Every action created in (covered_from, covered_to] is archived and terminal;
    `bottom_reached` means nothing older exists, so covered_from does not limit.

    The walks may have read further than that claim: up to `read_to`, and down to the older
    walk's `resume_cursor` (or the bottom, `read_bottom`), with every action there archived
    but the `runners`, still running when read. A runner bounds the claim until a later run
    finds it finished (or gone), which then moves the claim over what was read, without
    reading it again (state.settle).
    """

    SINGLETON = 1

    covered_to = models.DateTimeField(null=True, blank=True)
    covered_from = models.DateTimeField(null=True, blank=True)
    bottom_reached = models.BooleanField(default=False)
    resume_cursor = models.CharField(max_length=4000, blank=True)  # where the older walk goes on
    # A catch-up walk that ran out of calls: it covered (gap_cursor, gap_top] only.
    gap_top = models.DateTimeField(null=True, blank=True)
    gap_cursor = models.CharField(max_length=4000, blank=True)
    read_to = models.DateTimeField(null=True, blank=True)
    read_bottom = models.BooleanField(default=False)
    # [{"id": ..., "created_at": ...}]: running actions read inside the walked range.
    runners = models.JSONField(default=list, blank=True)
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
    # False while a big result's rows are being stored in the background (rows_later.py):
    # they become readable, with the columns and groups, in the transaction that sets it.
    complete = models.BooleanField(default=True)
    # True when the rows, still to be stored, never can be: Voucherify answered 404 for the
    # action when they were read again (rows_later.py).
    rows_gone = models.BooleanField(default=False)

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
