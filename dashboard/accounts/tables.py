"""The export log as a table."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from dashboard.accounts.models import ExportRecord


class ExportRecordTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    username = tables.Column(verbose_name="Who")
    what = tables.Column(verbose_name="What")
    action_id = tables.Column(verbose_name="Action", empty_values=("",), default="—")
    rows = tables.Column(verbose_name="Rows", default="—")
    filter_text = tables.Column(verbose_name="Filter", empty_values=())
    ip = tables.Column(verbose_name="Address", default="—", orderable=False)

    class Meta:
        model = ExportRecord
        fields = ("created_at", "username", "what", "action_id", "rows", "filter_text", "ip")
        order_by = ("-created_at",)
        attrs = {"class": "table"}
        empty_text = "Nothing has been exported yet."

    def render_filter_text(self, value: str, record: ExportRecord) -> str:
        text = value or ("everything" if record.link else "—")
        if record.link:
            return format_html('<a class="export-view" href="{}">{}</a>', record.link, text)
        return text
