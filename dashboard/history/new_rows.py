"""Archive rows inserted where their id is not archived yet, in raw SQL.

`bulk_create(ignore_conflicts=True)` builds a model instance per row, runs each value through
the insert compiler (most of a page's archiving time at 100 rows), and cannot tell which rows
it inserted, so callers read them back. Here each value goes through its field's own
`get_db_prep_save` (what that compiler calls too), and `INSERT ... ON CONFLICT (id) DO NOTHING
RETURNING id`, which SQLite (3.35 on) and PostgreSQL read alike, names the rows inserted: a row
a racing process stored first is left as it is, and is that process's to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

from .models import ArchivedAction

_NONE = object()  # no value seen yet


def insert_new(rows: dict[str, dict], first_seen: datetime) -> set[str]:
    """Insert each row (id -> column values, every row with the same columns, `first_seen`
    among them) unless its id is archived; returns the ids this call inserted."""
    if not rows:
        return set()
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked per value
    names = ["id", *next(iter(rows.values()))]
    fields = [ArchivedAction._meta.get_field(name) for name in names]
    columns = [list(rows), *([row[name] for row in rows.values()] for name in names[1:])]
    values = list(zip(*(_prepared(field, column, connection)
                        for field, column in zip(fields, columns, strict=True)), strict=True))
    quote = connection.ops.quote_name
    table = quote(ArchivedAction._meta.db_table)
    column_names = ", ".join(quote(field.column) for field in fields)
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    key = quote(ArchivedAction._meta.pk.column)
    returning = connection.features.can_return_rows_from_bulk_insert
    size = connection.ops.bulk_batch_size(fields, values)  # within the backend's parameter limit
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start:start + size]
            cursor.execute(
                f"INSERT INTO {table} ({column_names}) VALUES {', '.join([marks] * len(chunk))} "
                f"ON CONFLICT ({key}) DO NOTHING" + (f" RETURNING {key}" if returning else ""),
                [value for row in chunk for value in row],
            )
            if returning:
                inserted.update(action_id for (action_id,) in cursor.fetchall())
    if not returning:  # SQLite before 3.35: a racing process's rows carry its own first_seen
        inserted.update(ArchivedAction.objects.filter(pk__in=list(rows), first_seen=first_seen)
                        .values_list("pk", flat=True))
    return inserted


def _prepared(field: Field, column: Sequence[object], connection: BaseDatabaseWrapper
              ) -> list[object]:
    """A column's values as the database takes them; a value repeated down the column (the
    batch's one first_seen, an empty text, a NULL) is prepared once."""
    prepared: list[object] = []
    last, done = _NONE, None
    for value in column:
        if value is not last:
            last, done = value, field.get_db_prep_save(value, connection)
        prepared.append(done)
    return prepared
