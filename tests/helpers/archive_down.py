"""The archive's failed-rows tables failing every statement (as a locked or lost database
would), the rest of the database answering."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import OperationalError, connection

FAILURE_TABLES = ("history_failuresummary", "history_faileditem")


def _refuse_failure_tables(execute, sql, params, many, context):
    if any(table in sql for table in FAILURE_TABLES):
        raise OperationalError("database is locked")
    return execute(sql, params, many, context)


@contextlib.contextmanager
def stored_failures_unreadable() -> Iterator[None]:
    with connection.execute_wrapper(_refuse_failure_tables):
        yield
