"""The list's table, over the Action objects of the current page only (never a lazy iterable)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import TypeVar
from urllib.parse import urlencode

import django_tables2 as tables
from django.http import HttpRequest
from django.template.defaulttags import querystring
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_tables2.rows import BoundRow

from dashboard.actions import list_cells
from dashboard.actions.list_cells import esc
from dashboard.actions.list_params import TYPE_PARAM, parse_list_params
from dashboard.formatting import clip_text, duration_ms, short_id
from dashboard.voucherify.catalog import status_label
from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.models import Action


def detail_url(action_id: object) -> str:
    """The action's page; "" for an id that is not a valid one (Voucherify sent it, but no
    page can have it: it is shown without a link)."""
    if not is_valid_action_id(action_id):
        return ""
    return reverse("actions:detail", args=[action_id])


T = TypeVar("T")

_SAMPLE_ID = "aa_0123456789abcdef"  # any valid id: where an id goes in the detail URL
OOB = ' hx-swap-oob="true"'  # a live poll's rows replace the page's rows of the same id
TYPE_LIMIT = 80  # characters of an upstream text a list cell shows (the detail page has all)


def copy_button(value: str, what: str) -> str:
    """A button that copies `value` (static/js/app.js: the CSP forbids inline scripts)."""
    value, what = esc(value), esc(what)
    return SafeString(f'<button type="button" class="copy" data-copy="{value}" '
                      f'aria-label="Copy {what} {value}" title="Copy the whole {what}">'
                      "Copy</button>")


class ActionTable(tables.Table):
    id = tables.Column(verbose_name="Action", orderable=False)
    type = tables.Column(verbose_name="Type")
    status = tables.Column(verbose_name="Status")
    created_at = tables.Column(verbose_name="Created")
    updated_at = tables.Column(verbose_name="Updated")
    # Sorted by what the cell shows: the processing time, else created to updated.
    processing_time = tables.Column(verbose_name="Processing time", empty_values=(),
                                    order_by=("duration_ms",))
    request_id = tables.Column(verbose_name="Request id", orderable=False, default="—")

    class Meta:
        template_name = "actions/_table.html"
        orderable = True
        attrs = {"class": "actions-table"}

    def __init__(self, rows: Sequence[Action], *, caption: str = "Actions",
                 failed: Mapping[str, int] | None = None, sorts: str = "this page",
                 parts: dict | None = None, **kwargs: object):
        # A list of what is on the page: django-tables2 calls list() on anything lazy.
        super().__init__(list(rows), **kwargs)
        self.caption = caption
        self.sorts = sorts  # what a header's sort link reorders, for its title
        self.failed = failed or {}  # failed rows of DONE rows, where known (list_failures)
        # What the tables of one page have alike (the head, the cells' openings, the detail
        # URL, each type's cell), worked out by the first that needs it: the grouped list has
        # a table per context. Only for tables of the same page, sorted alike.
        self._parts = {} if parts is None else parts

    def _part(self, key: object, make: Callable[[], T]) -> T:
        found = self._parts.get(key)
        if found is None:
            found = self._parts[key] = make()
        return found

    def head_html(self, request: HttpRequest) -> SafeString:
        """The <thead>, as _table.html's loop over the columns wrote it, built directly: its
        template work cost as much as ten rows, once per group's table. A sortable header links
        to this address sorted by the column's next ordering (Django's `querystring`)."""
        key = ("head", request.get_full_path(), tuple(self.order_by or ()), self.sorts)
        return self._part(key, lambda: self._head_html(request))

    def _head_html(self, request: HttpRequest) -> SafeString:
        cells = []
        for column in self.columns:
            ordered = ""
            if column.is_ordered:
                way = "descending" if column.order_by_alias.is_descending else "ascending"
                ordered = f' aria-sort="{way}"'
            header = esc(column.header)
            if column.orderable:
                query = querystring(None, request.GET, sort=column.order_by_alias.next)
                header = (f'<a href="{esc(request.path + query)}" title="Sort {esc(self.sorts)} '
                          f'by {esc(str(column.header).lower())}">{header}</a>')
            cells.append(f'\n      <th scope="col" {column.attrs["th"].as_html()}{ordered}>'
                         f"\n        {header}\n      </th>\n    ")
        return SafeString(f'<thead>\n    <tr>\n    {"".join(cells)}\n    </tr>\n  </thead>')

    def rows_html(self) -> SafeString:
        """Every row (row_html), laid out as _table.html's loop over them was: one tag for the
        table's rows instead of a tag and a partial per row."""
        return SafeString("".join(f"\n    {self.row_html(row)}\n  " for row in self.rows))

    def row_html(self, row: BoundRow, *, oob: bool = False) -> SafeString:
        """One <tr>, as django-tables2's row and cell loop would render it, built directly: its
        per-cell machinery (a signature inspection per call, a template per cell) cost most of
        a 100-row page. Cells are the render_* methods below; a value in a column's
        `empty_values` shows the column's default, as django-tables2 does."""
        record = row.record
        live = "live " if record.is_live else ""
        status = "" if record.status is None else f' data-status="{esc(record.status)}"'
        cells = []
        for name, opening, default, empty, render in self._cell_specs:
            value = getattr(record, name)
            cell = default if value in empty else render(self, value, record)
            cells.append(f"{opening}{esc(cell)}</td>")
        return SafeString(
            f'<tr id="row-{esc(record.id)}" class="{live}{row.get_even_odd_css_class()}"{status}'
            f'{OOB if oob else ""}>{"".join(cells)}</tr>')

    @property
    def _cell_specs(self) -> list[tuple[str, str, object, tuple, Callable]]:
        """Per column, worked out once per page: name, the opening <td ...> (attributes, name,
        header), the default, the values that show it, and the function that writes its cell
        (a render_* method, called with the table: the page's tables share these specs)."""
        return self._part("cells", lambda: [
            (column.name,
             f'<td {column.attrs["td"].as_html()} data-column="{esc(column.name)}" '
             f'data-label="{esc(column.header)}">',
             column.default, tuple(column.column.empty_values),
             getattr(ActionTable, f"render_{column.name}"))
            for column in self.columns
        ])

    @cached_property
    def now(self) -> datetime:
        """The moment the rows' relative times are written against: one for the table."""
        return timezone.now()

    def render_created_at(self, value: datetime, record: Action) -> str:
        return list_cells.time_tag(value, self.now)

    render_updated_at = render_created_at

    def render_status(self, value: str, record: Action) -> str:
        return list_cells.status_cell(record, self.failed.get(record.id))

    def render_id(self, value: str, record: Action) -> str:
        url = self._detail_url(value)
        if not url:
            return format_html('<code class="invalid-id" title="{}">{}</code>{}',
                               clip_text(value, TYPE_LIMIT), short_id(value),
                               self.phone_key(record))
        shown, button = esc(value), copy_button(value, "action id")
        return SafeString(f'<a href="{esc(url)}" title="{shown}" aria-label="Action {shown}">'
                          f'<code>{esc(short_id(value))}</code></a> {button}'
                          f'{self.phone_key(record)}')

    def _detail_url(self, action_id: object) -> str:
        """detail_url without a reverse() per row: a valid id (letters, digits, "_") goes into
        the URL as it is, so the URL of one stands for all of them."""
        if not is_valid_action_id(action_id):
            return ""
        pattern = self._part("detail", lambda: detail_url(_SAMPLE_ID).rpartition(_SAMPLE_ID))
        return f"{pattern[0]}{action_id}{pattern[2]}"

    def phone_key(self, record: Action) -> str:
        return list_cells.phone_key(record, self.failed.get(record.id), self.now)

    def render_type(self, value: str, record: Action) -> str:
        """The type's label and its raw name, a link to the list of that type; types repeat
        down a page, so each is worked out once per page."""
        return self._part(("type", value), lambda: self._type_cell(value, record.label))

    def _type_cell(self, value: str, label: str) -> str:
        shown = clip_text(value, TYPE_LIMIT)
        if parse_list_params({TYPE_PARAM: value}).errors:  # no filter could take it: no link
            return format_html('{}<br><code class="raw-type">{}</code>', label, shown)
        list_url = self._part("list", lambda: reverse("actions:list"))
        filter_url = f"{list_url}?{urlencode({TYPE_PARAM: value})}"
        return format_html(
            '{}<br><a class="raw-type" href="{}" title="Only {} actions"><code>{}</code></a>',
            label, filter_url, value, value,
        )

    def render_processing_time(self, value: int | None, record: Action) -> str:
        if value is not None:
            return duration_ms(value)
        if record.elapsed_ms is None:
            return "—"
        # List items carry no processing_time: show the span between created and updated.
        return SafeString('<span title="From the created and updated times">≈ '
                          f"{esc(duration_ms(record.elapsed_ms))}</span>")

    def render_request_id(self, value: str, record: Action | None = None) -> str:
        return SafeString(f"<code>{esc(clip_text(value, TYPE_LIMIT))}</code>")


def announcement(action: Action) -> str:
    """What a screen reader hears when a live row changes."""
    return f"{action.label} {action.id} is now {status_label(action.status)}."
