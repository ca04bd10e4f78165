"""Pages of the purge audit by keyset: Older/Newer links carry the edge row, no page reads
rows it skips with OFFSET except a typed middle page, and a fixed number of queries per page."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.history import purge_views
from dashboard.history.models import ArchivedAction

PAGE = "/audit/purges/"
PER_PAGE = 7


@pytest.fixture
def many_purges(db, monkeypatch):
    """Generated purges, some sharing one instant (ties are ordered by id), and other actions."""
    monkeypatch.setattr(purge_views, "PURGES_PER_PAGE", PER_PAGE)
    rng = random.Random(15)
    day = datetime(2026, 10, 1, tzinfo=UTC)
    types = ["CUSTOMERS", "VOUCHERS", "ORDERS", "PRODUCTS", "CAMPAIGNS"]
    rows = []
    for n in range(45):
        created = day + timedelta(minutes=rng.randrange(0, 600) if n % 5 else 42)
        rows.append(ArchivedAction(
            id=f"aa_{n:018x}", type=f"{rng.choice(types)}.METADATA_KEY_PURGE",
            context="METADATA_KEY_PURGE", status="DONE", created_at=created,
            first_seen=day, last_synced=day, has_detail=True,
            result={"message": f"Updated {n} customers."}, user={"email": f"u{n}@example.com"},
        ))
        rows.append(ArchivedAction(
            id=f"aa_{n + 1000:018x}", type="VOUCHERS.IMPORT_CSV", context="VOUCHERS",
            status="DONE", created_at=created, first_seen=day, last_synced=day,
        ))
    ArchivedAction.objects.bulk_create(rows)
    return sorted((r for r in rows if r.context == "METADATA_KEY_PURGE"),
                  key=lambda r: (r.created_at, r.id), reverse=True)


def ids_on(response) -> list[str]:
    soup = BeautifulSoup(response.content, "html.parser")
    return [tr["data-id"] for tr in soup.select("table.purge-table tbody tr")]


def pager_link(response, rel: str) -> str | None:
    link = BeautifulSoup(response.content, "html.parser").select_one(f'nav.pager a[rel="{rel}"]')
    return link["href"] if link else None


def test_older_and_newer_links_walk_every_purge_once_in_order(many_purges, auditor_client):
    expected = [row.id for row in many_purges]
    seen, responses, url = [], [], PAGE
    while url:
        response = auditor_client.get(url if url.startswith("/") else PAGE + url)
        seen += ids_on(response)
        responses.append(response)
        url = pager_link(response, "next")
    assert seen == expected and len(responses) == 7
    back = []
    url = pager_link(responses[-1], "prev")
    while url:
        response = auditor_client.get(PAGE + url)
        back = ids_on(response) + back
        url = pager_link(response, "prev")
    assert back + ids_on(responses[-1]) == expected
    numbers = [re.search(r"Page (\d+) of (\d+)", r.content.decode()).groups()
               for r in responses]
    assert numbers == [(str(n), "7") for n in range(1, 8)]


def test_cursor_pages_and_the_first_and_last_pages_use_no_offset(many_purges, auditor_client):
    first = auditor_client.get(PAGE)
    older = pager_link(first, "next")
    for url in (PAGE, PAGE + older, PAGE + "?page=7", PAGE + "?page=99"):
        with CaptureQueriesContext(connection) as queries:
            assert auditor_client.get(url).status_code == 200
        purge_reads = [q["sql"] for q in queries.captured_queries
                       if "history_archivedaction" in q["sql"]]
        assert purge_reads and not any("OFFSET" in sql.upper() for sql in purge_reads), url
    assert ids_on(auditor_client.get(PAGE + "?page=7")) == [r.id for r in many_purges[42:]]


def test_a_page_costs_the_same_queries_however_many_purges(many_purges, auditor_client):
    def queries_for(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            auditor_client.get(url)
        return len(queries.captured_queries)

    queries_for(PAGE)  # the session and permissions are read once per client
    few = queries_for(PAGE + "?object=campaigns")
    assert few <= 10 and queries_for(PAGE) == few


@pytest.mark.parametrize("query", [
    "?older=nonsense", "?newer=2026-13-01~aa_1", "?older=~", "?older=" + "x" * 500,
    "?page=-3", "?page=abc&older=2026-10-01T00:00:00+00:00~aa_zzz",
    "?page=%C2%B2", "?page=%E2%91%A0", "?page=%00", "?page=%FF%FE",
    "?older=0001-01-01T00:00:00%2B01:00~aa_1", "?newer=9999-12-31T23:59:59-01:00~aa_1",
    "?older=2026-10-01T00:00:00%2B00:00~aa_%00", "?older=%FF~%FE",
])
def test_odd_cursors_fall_back_to_a_page_not_an_error(many_purges, auditor_client, query):
    response = auditor_client.get(PAGE + query)
    assert response.status_code == 200 and ids_on(response)


def test_the_first_last_and_filtered_pages_and_the_csv_cost_the_same_queries_with_more_purges(
        many_purges, auditor_client):
    urls = (PAGE, PAGE + "?page=999999", PAGE + "?object=customers", "/audit/purges.csv")

    def reads() -> dict[str, list[str]]:
        found = {}
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = auditor_client.get(url)
                if response.streaming:
                    b"".join(response.streaming_content)
            assert response.status_code == 200, url
            found[url] = [q["sql"] for q in queries.captured_queries]
        return found

    reads()  # the session and permissions are read once per client
    few = reads()
    day = datetime(2026, 11, 1, tzinfo=UTC)
    ArchivedAction.objects.bulk_create(ArchivedAction(
        id=f"aa_{n + 5000:018x}", type=("CUSTOMERS" if n % 2 else "ORDERS") + ".METADATA_KEY_PURGE",
        context="METADATA_KEY_PURGE", status="DONE", created_at=day + timedelta(seconds=n),
        first_seen=day, last_synced=day, has_detail=bool(n % 3)) for n in range(400))
    many = reads()
    for url in urls:
        assert len(many[url]) == len(few[url]), url
        purges = [sql for sql in many[url] if "history_archivedaction" in sql]
        assert purges, url
        if connection.vendor == "sqlite":  # through the purge index, never the whole archive
            assert all('INDEXED BY "history_purge_idx"' in sql for sql in purges), url


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's covering purge index")
def test_on_sqlite_the_pages_counts_and_csv_read_the_purge_index_alone(many_purges):
    from dashboard.history.purge_reads import PurgeSelection

    selection = PurgeSelection(types=("CUSTOMERS.METADATA_KEY_PURGE",))
    statements = [selection._select(newest_first=True), selection._select(newest_first=False,
                                                                          limit=7, offset=3)]
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "COVERING INDEX history_purge_idx" in plan and "TEMP B-TREE" not in plan, plan
    assert selection.counts()[0] == sum(r.type.startswith("CUSTOMERS") for r in many_purges)
