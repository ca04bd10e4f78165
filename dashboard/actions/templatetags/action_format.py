"""Template filters for what actions carry; the functions live in plain modules."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from dashboard import formatting
from dashboard.actions import list_cells
from dashboard.actions.list_table import ActionTable, detail_url
from dashboard.polling import align
from dashboard.voucherify import catalog

register = template.Library()

register.filter("status_label", catalog.status_label)
register.filter("status_class", catalog.status_class)
register.filter("duration_ms", formatting.duration_ms)
register.filter("duration_s", formatting.duration_s)
register.filter("relative_time", formatting.relative_time)
register.filter("utc_iso", formatting.utc_iso)
register.filter("moment_ago", formatting.moment_ago)
register.filter("utc_text", formatting.utc_text)
register.filter("short_id", formatting.short_id)

register.filter("detail_url", detail_url)

register.simple_tag(list_cells.status_badge, name="status_badge")
register.simple_tag(list_cells.progress_bar, name="progress_bar")
register.simple_tag(list_cells.time_tag, name="time_tag")


@register.simple_tag
def poll_align() -> str:
    """A live element's early poll, just after the next refresh (polling/align.py)."""
    return align.TRIGGER


@register.simple_tag
def action_head(table: ActionTable, request: HttpRequest) -> str:
    """The head of the list's table (ActionTable.head_html)."""
    return table.head_html(request)


@register.simple_tag
def action_rows(table: ActionTable) -> str:
    """Every row of the list's table (ActionTable.rows_html)."""
    return table.rows_html()


@register.simple_tag
def action_row(table: ActionTable, row, oob: object = False) -> str:
    """One row of the list's table (ActionTable.row_html); `oob` for a live poll's swap."""
    return table.row_html(row, oob=bool(oob))
