"""Archive rows written in raw SQL: inserted where their id is not archived yet, and
updated many in one statement (`update_known`).

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

from . import many_rows
from .models import ArchivedAction

_NONE = object()  # no value seen yet


def insert_new(rows: dict[str, dict], first_seen: datetime) -> set[str]:
    """Insert each row (id -> column values, every row with the same columns, `first_seen`
    among them) unless its id is archived; returns the ids this call inserted."""
    if not rows:
        return set()
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked per value
    fields, values = _table(rows, connection)
    quote = connection.ops.quote_name
    table = quote(ArchivedAction._meta.db_table)
    column_names = ", ".join(quote(field.column) for field in fields)
    key = quote(ArchivedAction._meta.pk.column)
    returning = connection.features.can_return_rows_from_bulk_insert
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for source, params in many_rows.sources(connection, ArchivedAction, fields, values):
            cursor.execute(
                f"INSERT INTO {table} ({column_names}) {source} "
                f"ON CONFLICT ({key}) DO NOTHING" + (f" RETURNING {key}" if returning else ""),
                params,
            )
            if returning:
                inserted.update(action_id for (action_id,) in cursor.fetchall())
    if not returning:  # SQLite before 3.35: a racing process's rows carry its own first_seen
        inserted.update(ArchivedAction.objects.filter(pk__in=list(rows), first_seen=first_seen)
                        .values_list("pk", flat=True))
    return inserted


def update_known(rows: dict[str, dict]) -> None:
    """Overwrite these archived rows' columns (id -> column values, every row with the same
    columns): on PostgreSQL one UPDATE from a JSON document; elsewhere Django's bulk_update."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    names = list(next(iter(rows.values())))
    if not many_rows.uses_json(connection):
        ArchivedAction.objects.bulk_update(
            [ArchivedAction(id=i, **row) for i, row in rows.items()], names)
        return
    fields, values = _table(rows, connection)
    quote = connection.ops.quote_name
    table, key = quote(ArchivedAction._meta.db_table), quote(ArchivedAction._meta.pk.column)
    assignments = ", ".join(f"{quote(f.column)} = new.{quote(f.column)}" for f in fields[1:])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} "
                       f"FROM {many_rows.records(connection, ArchivedAction)} AS new "
                       f"WHERE {table}.{key} = new.{key}", [many_rows.as_json(fields, values)])


def _table(rows: dict[str, dict], connection: BaseDatabaseWrapper
           ) -> tuple[list[Field], list[tuple]]:
    """The fields (the id first, then the rows' columns) and each row's values as the
    database takes them."""
    names = ["id", *next(iter(rows.values()))]
    fields = [ArchivedAction._meta.get_field(name) for name in names]
    columns = [list(rows), *([row[name] for row in rows.values()] for name in names[1:])]
    values = list(zip(*(_prepared(field, column, connection)
                        for field, column in zip(fields, columns, strict=True)), strict=True))
    return fields, values


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
