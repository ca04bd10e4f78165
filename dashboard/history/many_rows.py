"""Many rows as the source of one INSERT or UPDATE: a JSON document on PostgreSQL, a multi-row
VALUES list elsewhere.

A VALUES list carries a placeholder per value: a page of 100 archive rows is 2,000 of them,
each quoted by psycopg in Python and parsed again by the server, about half of the
statement's time. On PostgreSQL the rows go as one JSON text instead (`json.dumps` and the
server's `json_populate_recordset`, both in C), which the server reads into the table's own
row type: one placeholder whatever the row count.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from dashboard import postgres_text

VALUES_BATCH = 500  # rows per VALUES list, within every backend's parameter limit


def uses_json(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


def sources(connection: BaseDatabaseWrapper, model: type[Model], fields: Sequence[Field],
            rows: Sequence[Sequence[object]]) -> Iterator[tuple[str, list[object]]]:
    """(SQL to put after `INSERT INTO table (fields' columns)`, its parameters) for every
    batch of `rows` (tuples in `fields`' order, values as get_db_prep_save leaves them)."""
    if not rows:
        return
    if uses_json(connection):
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        yield f"SELECT {columns} FROM {records(connection, model)}", [as_json(fields, rows)]
        return
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = min(VALUES_BATCH, connection.ops.bulk_batch_size(fields, rows))
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        yield f"VALUES {', '.join([marks] * len(chunk))}", [v for row in chunk for v in row]


def records(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    """PostgreSQL: a table expression of the model's row type read from one JSON parameter
    (as_json), its absent columns NULL."""
    table = connection.ops.quote_name(model._meta.db_table)
    return f"json_populate_recordset(NULL::{table}, %s::json)"


def as_json(fields: Sequence[Field], rows: Sequence[Sequence[object]]) -> str:
    """The rows as a JSON array of objects keyed by column, as PostgreSQL takes it
    (postgres_text: no NUL, no NaN)."""
    from psycopg.types.json import Jsonb  # a JSONField's value, as get_db_prep_save wraps it

    columns = [field.column for field in fields]
    document = [{column: value.obj if isinstance(value, Jsonb) else value
                 for column, value in zip(columns, row, strict=True)} for row in rows]
    return postgres_text.json_dumps(document, _dumps)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: object) -> object:
    if isinstance(value, date):  # datetimes too, with their offset: the server converts
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
