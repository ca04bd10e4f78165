"""The export log as a table."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from dashboard.accounts.models import ExportRecord


def filter_text(filters: object) -> str:
    """{"object": "customers", "from": "2026-10-01"} -> "object customers, from 2026-10-01"."""
    if not isinstance(filters, dict) or not filters:
        return ""
    return ", ".join(f"{name} {value}" for name, value in filters.items())


class ExportRecordTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    username = tables.Column(verbose_name="Who")
    what = tables.Column(verbose_name="What")
    action_id = tables.Column(verbose_name="Action", empty_values=("",), default="—")
    rows = tables.Column(verbose_name="Rows", default="—")
    filters = tables.Column(verbose_name="Filter", empty_values=(), orderable=False)
    ip = tables.Column(verbose_name="Address", default="—", orderable=False)

    class Meta:
        model = ExportRecord
        fields = ("created_at", "username", "what", "action_id", "rows", "filters", "ip")
        order_by = ("-created_at",)
        attrs = {"class": "table"}
        empty_text = "Nothing has been exported yet."

    def render_filters(self, value: object, record: ExportRecord) -> str:
        text = filter_text(value) or ("everything" if record.link else "—")
        if record.link:
            return format_html('<a class="export-view" href="{}">{}</a>', record.link, text)
        return text
