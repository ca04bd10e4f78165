"""Permissions the dashboard checks, and the log of CSV exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Access(models.Model):
    """Holds the dashboard's permissions; there is no table (roles are groups of these)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_actions", "See the async actions list and detail pages"),
            ("view_failed_rows", "See failed-row tables (personal data)"),
            ("export_failures", "Export failed rows as CSV (personal data)"),
            ("view_purge_audit", "See and export the metadata key purge audit"),
            ("view_status", "See the polling and call budget status page"),
            ("view_export_log", "See the log of CSV exports"),
            ("start_sync", "Read missing history from Voucherify (spends the shared budget)"),
        ]

    def __str__(self) -> str:
        return "dashboard access"


class ExportRecord(models.Model):
    """One CSV export: who took which data, when and from where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept when the user is deleted, so the log still says who it was.
    username = models.CharField(max_length=150)
    what = models.CharField(max_length=100)
    action_id = models.CharField(max_length=100, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    # What was selected ({"object": "customers", "from": "2026-10-01", ...}) and the address of
    # the same filtered view, so an auditor can open what was exported.
    filters = models.JSONField(default=dict, blank=True)
    # The same filter in words ("reason Duplicated code, search straße"), empty for a whole
    # export: what the log shows and is searched by (JSON text escapes non-ASCII letters).
    filter_text = models.CharField(max_length=500, blank=True, db_index=True)
    link = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} exported {self.what} at {self.created_at:%Y-%m-%d %H:%M}"


class LockoutEntry(models.Model):
    """A failed-login count or lock, kept here while the shared cache cannot be reached
    (dashboard/accounts/lockout.py), so every process still counts the same failures."""

    key = models.CharField(max_length=100, unique=True)
    value = models.FloatField()  # a count of failures, or the epoch second a lock ends
    expires_at = models.FloatField(db_index=True)  # epoch seconds

    def __str__(self) -> str:
        return self.key


class SavedView(models.Model):
    """A person's named filter of the actions list: its query string, so opening it is
    opening the list at that address (and sharing it is sharing the link)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)  # "?status=FAILED&limit=50", or ""
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.query or 'all actions'})"
