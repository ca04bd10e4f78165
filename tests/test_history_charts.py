"""The overview's numbers (not its pixels) and its accessible, CSP-safe SVG."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from dashboard.history import charts, rollups, svg
from dashboard.history.archive import archive_action
from dashboard.voucherify.models import Action
from tests.helpers.upstream import LIST, stamp, upstream_history

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def put(n: int, *, type_: str, status: str = "DONE", days_ago: float = 0, ms: int = 1000,
        operation_status: str | None = None) -> None:
    created = NOW - timedelta(days=days_ago)
    body = {
        "id": f"aa_{abs(hash((n, type_, status, days_ago, ms))):018x}"[:21], "type": type_,
        "status": status, "created_at": stamp(created), "processing_time": ms,
        "updated_at": stamp(created + timedelta(milliseconds=ms)),
    }
    if operation_status:
        body["operation_status"] = operation_status
    assert archive_action(Action.from_json(body), detail=True)


@pytest.mark.parametrize("values, fraction, expected", [
    ([], 0.5, None),
    ([7], 0.95, 7),
    ([1, 2, 3, 4], 0.5, 2),
    (list(range(1, 21)), 0.95, 19),
    (list(range(1, 101)), 0.95, 95),
    ([5, 1, 4, 2, 3], 0.5, 3),
])
def test_percentiles_use_the_nearest_rank(values, fraction, expected):
    assert charts.percentile(values, fraction) == expected


@pytest.mark.django_db
def test_actions_per_day_are_counted_by_status_over_thirty_days():
    for n in range(3):
        put(n, type_="VOUCHERS.IMPORT", days_ago=0)
    put(3, type_="VOUCHERS.IMPORT", status="FAILED", days_ago=0)
    put(4, type_="CUSTOMERS.IMPORT_CSV", status="FAILED", days_ago=2)
    put(5, type_="CUSTOMERS.IMPORT_CSV", days_ago=29)
    put(6, type_="CUSTOMERS.IMPORT_CSV", days_ago=31)  # before the window
    data = charts.overview(NOW, live=charts.LiveNow())
    assert len(data.days) == 30 and data.days[-1].day == date(2026, 11, 28)
    by_day = {bar.day: bar.counts for bar in data.days}
    assert by_day[date(2026, 11, 28)] == {"DONE": 3, "FAILED": 1}
    assert by_day[date(2026, 11, 26)] == {"DONE": 0, "FAILED": 1}
    assert by_day[date(2026, 10, 30)] == {"DONE": 1, "FAILED": 0}
    assert data.total == 6


@pytest.mark.django_db
def test_failure_share_and_p50_p95_per_type_and_the_top_lists():
    for n, ms in enumerate(range(100, 2100, 100)):  # 20 imports: 100 ms .. 2000 ms
        put(n, type_="VOUCHERS.IMPORT", ms=ms, status="FAILED" if n < 5 else "DONE")
    put(50, type_="PRODUCTS.BULK_UPDATE", ms=90_000, operation_status="FAILED")
    put(51, type_="PRODUCTS.BULK_UPDATE", ms=30_000, operation_status="SUCCESS")
    put(52, type_="ORDERS.IMPORT", ms=10)
    data = charts.overview(NOW, live=charts.LiveNow())
    figures = {t.type: t for t in data.types}
    imports = figures["VOUCHERS.IMPORT"]
    assert (imports.total, imports.failed, imports.failure_share) == (20, 5, 0.25)
    assert (imports.p50_ms, imports.p95_ms) == (1000, 1900)
    bulk = figures["PRODUCTS.BULK_UPDATE"]
    assert (bulk.failed, bulk.failure_share, bulk.p50_ms, bulk.p95_ms) == (1, 0.5, 30_000, 90_000)
    assert [t.type for t in data.slowest] == [
        "PRODUCTS.BULK_UPDATE", "VOUCHERS.IMPORT", "ORDERS.IMPORT"]
    assert [t.type for t in data.most_failing] == ["PRODUCTS.BULK_UPDATE", "VOUCHERS.IMPORT"]


@pytest.mark.django_db
@pytest.mark.parametrize("rolled_before_the_writes", [True, False])
def test_the_overview_times_only_the_actions_it_counts(rolled_before_the_writes):
    if rolled_before_the_writes:  # the writes add to the window; otherwise it is recounted
        rollups.roll_window(NOW.date())
    put(1, type_="VOUCHERS.IMPORT_CSV", days_ago=1 / 24, ms=1000)
    # A hostile (or clock-skewed) created_at five days ahead: outside the 30 days shown.
    put(2, type_="VOUCHERS.IMPORT_CSV", days_ago=-5, ms=10_000_000)
    figures = {t.type: t for t in charts.overview(NOW, live=charts.LiveNow()).types}
    imports = figures["VOUCHERS.IMPORT_CSV"]
    assert imports.total == 1  # the day counts leave the future day out ...
    assert (imports.p50_ms, imports.p95_ms) == (1000, 1000)  # ... and so do the durations


@pytest.mark.django_db
def test_a_days_durations_join_the_overview_when_the_day_does():
    rollups.roll_window(NOW.date())
    put(1, type_="VOUCHERS.IMPORT_CSV", days_ago=-5, ms=10_000_000)
    later = charts.overview(NOW + timedelta(days=5), live=charts.LiveNow())
    [imports] = later.types
    assert (imports.total, imports.p50_ms, imports.p95_ms) == (1, 10_000_000, 10_000_000)


def test_the_overview_shows_the_archive_per_day_and_what_runs_now_with_one_shared_call(
    synced, archive, operator_client, settings
):
    # The second viewer comes within one poll interval of the first page's call however long
    # that page takes to render on a busy machine (at 2 s, a slow render let it go stale).
    settings.ACTIONS_POLL_INTERVAL = 120
    for kind in ("VOUCHERS.IMPORT_CSV", "CUSTOMERS.BULK_UPDATE"):
        archive.create_action(kind, duration=600)
    response = operator_client.get("/overview/")
    assert response.status_code == 200
    assert archive.count() == archive.count(endpoint=LIST) == 1  # the shared newest page
    soup = BeautifulSoup(response.content, "html.parser")
    live = soup.select_one(".live-count").get_text(" ", strip=True)
    assert "2 actions enqueued or in progress" in live
    operator_client.get("/overview/")
    assert archive.count() == 1  # the second viewer is served from the polling layer's cache

    today = datetime.now(UTC).date()
    start = today - timedelta(days=29)
    truth = Counter(
        (a["created_at"][:10], a["status"]) for a in upstream_history(archive)
        if a["status"] in ("DONE", "FAILED") and a["created_at"][:10] >= start.isoformat()
    )
    for tr in soup.select("table.days-table tbody tr"):
        day = tr.th.get_text(strip=True)
        done, failed, total = (int(td.get_text()) for td in tr.find_all("td"))
        assert (done, failed) == (truth[(day, "DONE")], truth[(day, "FAILED")])
        assert total == done + failed


def test_the_charts_have_text_alternatives_hover_titles_and_no_inline_style(
    synced, operator_client
):
    html = operator_client.get("/overview/").content.decode()
    soup = BeautifulSoup(html, "html.parser")
    charts_found = soup.select("svg.chart")
    assert len(charts_found) == 3
    for chart in charts_found:
        assert chart["role"] == "img"
        title_id, desc_id = chart["aria-labelledby"].split()
        assert chart.find("title", id=title_id).get_text()
        assert chart.find("desc", id=desc_id).get_text()
        assert all(rect.find("title") for rect in chart.select("rect.bar") if rect.get("height"))
    assert "style=" not in html and "<script>" not in html
    assert soup.select("table.types-table tbody tr")


def test_the_overview_needs_the_actions_permission(client_for):
    assert client_for(None).get("/overview/").status_code == 403


def test_the_overview_explains_an_upstream_fault_and_still_shows_the_archive(
    synced, archive, operator_client
):
    archive.set_faults(error_rate=1.0, error_status=503)
    response = operator_client.get("/overview/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    assert soup.select_one(".live-now .upstream-problem") is not None
    assert soup.select("table.days-table tbody tr")
    archive.clear_faults()


def test_nice_ceilings_and_an_empty_chart_render():
    assert [svg.nice_ceiling(n) for n in (0, 1, 3, 7, 11, 60, 101)] == [1, 1, 5, 10, 20, 100, 200]
    empty = charts.day_bars([], date(2026, 1, 30))
    assert "No archived actions" in svg.stacked_days(empty)
