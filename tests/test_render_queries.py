"""SQL queries of a first page load (cold cache, nothing archived yet): they must not grow with
the rows a page shows or the failed rows an action holds. Speed is measured by
bench/render.py, not here."""

from __future__ import annotations

import math

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import hot
from dashboard.history import failed_items, rows_later
from dashboard.history.models import ArchivedAction
from dashboard.history.rows_later import LATER_FROM
from tests.helpers.html import row_ids

REASONS = ("Duplicated voucher code", "unit: must be a number", "Voucher Type is required")


def cold() -> None:
    """A first load: nothing cached, nothing archived."""
    cache.clear()
    hot.clear()
    ArchivedAction.objects.all().delete()


def queries_of(client, path: str) -> tuple[object, list[str]]:
    cold()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return response, [query["sql"] for query in captured.captured_queries]


def failed_rows(count: int) -> dict:
    """Generated rows: three common reasons and one in ten naming its own customer."""
    failed = [{"code": f"CODE-{n:06d}", "source_id": f"src-{n}", "row": n + 1,
               "reason": f"Customer cust-{n:06d} not found" if n % 10 == 9 else REASONS[n % 3]}
              for n in range(count)]
    return {"message": f"0 imported, {count} failed.", "done_count": 0, "failed_count": count,
            "failed": failed}


def test_a_cold_list_page_of_100_rows_runs_as_many_queries_as_one_of_10(
    operator_client, emulator
):
    operator_client.get("/actions/?limit=100")  # once-only rows (the rollups' window) exist
    small, few = queries_of(operator_client, "/actions/?limit=10")
    large, many = queries_of(operator_client, "/actions/?limit=100")
    assert len(row_ids(small)) == 10
    assert len(row_ids(large)) == 100
    assert emulator.count(method="GET") == 3  # one upstream page per load
    assert len(many) == len(few), "\n".join(many)
    # The page reads and archives its upstream page in a fixed number of statements.
    assert len(many) <= 17, "\n".join(many)
    assert nested_transactions(many) == 0


# The most failed rows a page load stores itself (from LATER_FROM on they are stored in the
# background, see test_failures_big.py).
INLINE = LATER_FROM - 1


def test_a_cold_detail_page_of_thousands_of_failed_rows_runs_the_queries_of_one_of_50(
    support_client, emulator
):
    ids = {count: emulator.create_action("VOUCHERS.IMPORT_CSV", duration=0,
                                         result=failed_rows(count))["id"]
           for count in (50, INLINE)}
    support_client.get(f"/actions/{ids[50]}/")  # once-only rows (the rollups' window) exist
    small, few = queries_of(support_client, f"/actions/{ids[50]}/")
    large, many = queries_of(support_client, f"/actions/{ids[INLINE]}/")
    assert b"CODE-000049" in small.content
    assert b"CODE-000000" in large.content  # one page of them:
    assert f"CODE-{INLINE - 1:06d}".encode() not in large.content
    # The failed rows are stored by executemany, one statement per batch of rows; nothing else
    # depends on how many there are.
    batches = math.ceil(INLINE / failed_items._BATCH) - math.ceil(50 / failed_items._BATCH)
    assert len(many) == len(few) + batches, "\n".join(many)
    assert len(many) <= 19, "\n".join(many)
    assert nested_transactions(many) == 0


@pytest.mark.django_db(transaction=True)  # the write commits, as it does in production
def test_the_first_read_of_a_result_whose_rows_are_stored_later_writes_in_a_few_statements(
    support_client, emulator
):
    action_id = emulator.create_action("VOUCHERS.IMPORT_CSV", duration=0,
                                       result=failed_rows(LATER_FROM))["id"]
    support_client.get(f"/actions/{action_id}/")  # once-only rows (the rollups' window) exist
    rows_later.wait_all()
    try:
        page, statements = queries_of(support_client, f"/actions/{action_id}/")
    finally:
        rows_later.wait_all()  # its rows stored before the tables are emptied
    assert b"CODE-000000" in page.content
    # Session, user and permissions (a cold cache), the archive's lookup, the action and its
    # rollups and its summary in one transaction; the rows come later, in the background, and
    # the page knows so without reading the summary back.
    assert len(statements) <= 13, "\n".join(statements)
    assert not [sql for sql in statements if sql.startswith("SELECT") and "failuresummary" in sql]
    assert nested_transactions(statements) == 0


def nested_transactions(statements: list[str]) -> int:
    """Savepoints beyond the write's own transaction (itself a savepoint here, inside the
    test's transaction): two round trips each on PostgreSQL, for a rollback nobody uses."""
    return max(0, sum(sql.upper().startswith("SAVEPOINT") for sql in statements) - 1)
