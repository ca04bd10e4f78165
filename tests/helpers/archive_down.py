"""The archive's failed-rows tables failing every statement (as a locked or lost database
would), the rest of the database answering."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import OperationalError, connection

FAILURE_TABLES = ("history_failuresummary", "history_faileditem")


def _refusing(tables: tuple[str, ...]):
    def refuse(execute, sql, params, many, context):
        if any(table in sql for table in tables):
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)
    return refuse


@contextlib.contextmanager
def stored_failures_unreadable(tables: tuple[str, ...] = FAILURE_TABLES) -> Iterator[None]:
    """`tables` ("history_faileditem" alone: the summary is read, no page of rows)."""
    with connection.execute_wrapper(_refusing(tables)):
        yield
