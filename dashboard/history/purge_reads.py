"""Purges read through their own partial index (models.PURGE_INDEX) with a plain DB-API
cursor: counts, pages by keyset or offset, and the CSV's rows with timestamps as text.

SQLite is told to use the index (`INDEXED BY`): without statistics its planner prefers the
(context, created_at) index and then sorts every purge by id. Its WHERE repeats the index's
condition as a literal, which a partial index needs to be usable. Timestamps come back as
"YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC, microseconds only when not zero, as str(datetime)
writes them), so the CSV needs no datetime object per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from django.db import connection

from .models import PURGE_CONTEXT, PURGE_INDEX, ArchivedAction
from .purge_cells import records_text, user_text
from .purge_index import CUT_MARK

# The columns of a row (purges.ROW_FIELDS, the page and the CSV): positions are fixed.
COLUMNS = ("id", "type", "created_at", "updated_at", "started_by", "status",
           "records_updated", "duration_ms", "request_id", "log_id", "has_detail")
STAMPED = ("created_at", "updated_at")
_STARTED_BY, _RECORDS = COLUMNS.index("started_by"), COLUMNS.index("records_updated")
FETCH = 5000  # rows per round trip of a long read
_ZERO_MICROS = ".000000"


def stamp_text(moment: datetime) -> str:
    """A datetime as this module's timestamp text (UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def stamp_moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def with_moments(row: tuple) -> tuple:
    """A COLUMNS row with its timestamps as aware datetimes instead of text."""
    return (row[0], row[1], stamp_moment(row[2]), stamp_moment(row[3]), *row[4:])


def _stamp_sql(column: str) -> str:
    quoted = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":  # its .US always has six digits: none when all zero
        utc = f"{quoted} AT TIME ZONE 'UTC'"
        return (f"to_char({utc}, 'YYYY-MM-DD HH24:MI:SS') || "
                f"coalesce(nullif(to_char({utc}, '.US'), '{_ZERO_MICROS}'), '')")
    # An expression, not the column: no per-row datetime converter of the driver runs.
    return f"{quoted} || ''"


@dataclass(frozen=True)
class PurgeSelection:
    """The purges of a filter: object types (as action types), a created_at range."""

    types: tuple[str, ...] | None = None  # None: every purge type
    start: datetime | None = None
    end: datetime | None = None  # exclusive

    def _where(self) -> tuple[str, list]:
        quote = connection.ops.quote_name
        # A literal (the index's own condition), never user input.
        clauses, params = [f"{quote('context')} = '{PURGE_CONTEXT}'"], []
        if self.types is not None:
            if not self.types:
                clauses.append("1 = 0")
            else:
                clauses.append(f"{quote('type')} IN ({', '.join(['%s'] * len(self.types))})")
                params.extend(self.types)
        adapt = connection.ops.adapt_datetimefield_value
        if self.start is not None:
            clauses.append(f"{quote('created_at')} >= %s")
            params.append(adapt(self.start))
        if self.end is not None:
            clauses.append(f"{quote('created_at')} < %s")
            params.append(adapt(self.end))
        return " AND ".join(clauses), params

    def _from(self) -> str:
        table = connection.ops.quote_name(ArchivedAction._meta.db_table)
        if connection.vendor == "sqlite":
            return f"{table} INDEXED BY {connection.ops.quote_name(PURGE_INDEX)}"
        return table

    def counts(self) -> tuple[int, int]:
        """(purges, of which known from the list only), from the index alone."""
        where, params = self._where()
        has_detail = connection.ops.quote_name("has_detail")
        sql = (f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {has_detail} THEN 0 ELSE 1 END), 0) "
               f"FROM {self._from()} WHERE {where}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            total, without_detail = cursor.fetchone()
        return int(total), int(without_detail)

    def _select(self, *, newest_first: bool, beyond: tuple[datetime, str] | None = None,
                limit: int | None = None, offset: int = 0) -> tuple[str, list]:
        """SQL of the rows (COLUMNS, timestamps as text); `beyond`: only rows after that
        (created_at, id) in the order asked."""
        quote = connection.ops.quote_name
        where, params = self._where()
        if beyond is not None:
            where += (f" AND ({quote('created_at')}, {quote('id')}) "
                      f"{'<' if newest_first else '>'} (%s, %s)")
            params += [connection.ops.adapt_datetimefield_value(beyond[0]), beyond[1]]
        columns = ", ".join(_stamp_sql(name) if name in STAMPED else quote(name)
                            for name in COLUMNS)
        order = "DESC" if newest_first else "ASC"
        sql = (f"SELECT {columns} FROM {self._from()} WHERE {where} "
               f"ORDER BY {quote('created_at')} {order}, {quote('id')} {order}")
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
            if offset:  # only a typed middle page skips rows
                sql += " OFFSET %s"
                params.append(offset)
        return sql, params

    def page(self, *, newest_first: bool = True, beyond: tuple[datetime, str] | None = None,
             limit: int, offset: int = 0) -> list[tuple]:
        """At most `limit` rows (COLUMNS; timestamps as aware datetimes), in the order asked."""
        sql, params = self._select(newest_first=newest_first, beyond=beyond, limit=limit,
                                   offset=offset)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [with_moments(row) for row in _whole(cursor.fetchall())]

    def texts(self) -> Iterator[tuple]:
        """Every row, newest first (COLUMNS; timestamps as text), FETCH at a time."""
        sql, params = self._select(newest_first=True)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(FETCH):
                yield from _whole(batch)


def _whole(rows: list[tuple]) -> list[tuple]:
    """`rows` with any started_by or records_updated the index holds cut to its entry size
    (purge_index.py) worked out whole again from the purge's user and result: one query for
    the rows that have one, none for the others."""
    # Looked for in two joined texts first (in C): almost every batch has none.
    if not any(CUT_MARK in "".join(map(itemgetter(column), rows))
               for column in (_STARTED_BY, _RECORDS)):
        return rows
    cut = [row[0] for row in rows
           if row[_STARTED_BY].endswith(CUT_MARK) or row[_RECORDS].endswith(CUT_MARK)]
    whole = {action_id: (user_text(user) or "", records_text(result))
             for action_id, user, result in ArchivedAction.objects.filter(pk__in=cut)
             .values_list("id", "user", "result")}
    return [_with_cells(row, *whole[row[0]]) if row[0] in whole else row for row in rows]


def _with_cells(row: tuple, started_by: str, records: str) -> tuple:
    cells = list(row)
    cells[_STARTED_BY], cells[_RECORDS] = started_by, records
    return tuple(cells)
