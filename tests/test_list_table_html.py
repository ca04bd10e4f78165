"""The list table's head and rows, built in Python (ActionTable.head_html, rows_html), are the
markup _table.html's loops wrote, byte for byte: the loops are kept here as the reference."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory

from dashboard.actions.list_table import ActionTable
from dashboard.voucherify.models import Action

# _table.html's head and body before they were built in Python.
TEMPLATE_LOOPS = """{% load action_format %}<thead>
    <tr>
    {% for column in table.columns %}
      <th scope="col" {{ column.attrs.th.as_html }}{% if column.is_ordered %} aria-sort="{% if column.order_by_alias.is_descending %}descending{% else %}ascending{% endif %}"{% endif %}>
        {% if column.orderable %}<a href="{{ request.path }}{% querystring sort=column.order_by_alias.next %}" title="Sort {{ table.sorts }} by {{ column.header|lower }}">{{ column.header }}</a>{% else %}{{ column.header }}{% endif %}
      </th>
    {% endfor %}
    </tr>
  </thead>|{% for row in table.rows %}
    {% action_row table row oob %}
  {% endfor %}"""  # noqa: E501


def actions() -> list[Action]:
    base = {"object": "async_action", "progress": 100, "request_id": "v-1<&>"}
    return [
        Action.from_json({**base, "id": "aa_0c5543f00797b6113f", "type": "CUSTOMERS.IMPORT_CSV",
                          "status": "DONE", "created_at": "2026-11-01T10:00:00.000Z",
                          "updated_at": "2026-11-01T10:00:04.500Z"}),
        Action.from_json({**base, "id": "aa_0c5543f00797b61140", "type": "ODD<TYPE>&",
                          "status": "IN_PROGRESS", "progress": 40,
                          "created_at": "2026-11-01T09:00:00.000Z"}),
        Action.from_json({**base, "id": "not a valid id", "type": "VOUCHERS.IMPORT",
                          "status": "FAILED", "created_at": "2026-11-01T08:00:00.000Z",
                          "updated_at": "2026-11-01T08:01:00.000Z", "request_id": None}),
    ]


@pytest.mark.parametrize("query, sort", [
    ("?limit=100", None), ("?limit=100&sort=-type", "-type"),
    ("?status=DONE&sort=processing_time&q=a%26b", "processing_time"),
])
@pytest.mark.parametrize("sibling", [False, True], ids=["alone", "after-a-sibling"])
def test_the_head_and_rows_are_the_markup_the_template_loops_wrote(query, sort, sibling):
    """Also for a table whose page's parts (head, cells, type cells) another table made."""
    request = RequestFactory().get(f"/actions/{query}")
    parts: dict = {}

    def table() -> ActionTable:  # one each: a table counts its rows (even, odd) as it goes
        return ActionTable(actions(), order_by=sort, failed={"aa_0c5543f00797b6113f": 3},
                           sorts="each <group>", parts=parts)

    expected = engines["django"].from_string(TEMPLATE_LOOPS).render({"table": table()}, request)
    if sibling:
        first = table()
        first.head_html(request), first.rows_html()
    else:
        parts.clear()
    ours = table()
    assert f"{ours.head_html(request)}|{ours.rows_html()}" == expected
