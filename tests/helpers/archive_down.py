"""The database failing every statement (as a locked, lost or restarting database would): the
archive's failed-rows tables alone, the rest answering, or all of it."""

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


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """Every statement fails, as while PostgreSQL restarts."""
    with connection.execute_wrapper(_refusing(("",))):  # "" is in every statement
        yield
