"""Done with failures on the overview: the archive keeps the failed rows a detail tells, the
rollups count them as rows come, change and go (always equal to a recount of the archive
table), the failure share counts them, and every bar links to a list of exactly its count."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from dashboard.actions.list_params import parse_list_params
from dashboard.history import charts, rollups
from dashboard.history.archive import archive_action, archive_actions
from dashboard.history.list_links import day_list_url
from dashboard.history.models import ArchivedAction, DayCount
from dashboard.history.prune import prune
from dashboard.polling import reads
from dashboard.voucherify.models import Action
from tests.helpers.upstream import LIST, upstream_history
from tests.test_history_rollups import generated, list_item

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def with_results(bodies: list[dict], *, seed: int) -> list[dict]:
    """Every DONE body gets a result: none failed, some failed (a count), or a long list of
    failed rows with no count (kept apart in their own table)."""
    rng = random.Random(seed)
    changed = []
    for body in bodies:
        if body["status"] == "DONE":
            kind = rng.choice(("clean", "count", "list"))
            if kind == "clean":
                result = {"done_count": 10, "failed_count": 0}
            elif kind == "count":
                result = {"done_count": 10, "failed_count": rng.randrange(1, 400)}
            else:
                result = {"failed": [{"row": n, "reason": f"bad {n % 3}"}
                                     for n in range(rng.randrange(21, 60))]}
            body = {**body, "result": result}
        changed.append(body)
    return changed


def recount() -> Counter:
    """The per-day outcome counted straight from the archive table, row by row."""
    counted: Counter = Counter()
    for row in ArchivedAction.objects.values("created_at", "type", "status",
                                             "operation_status", "failed_rows"):
        counted[(row["created_at"].astimezone(UTC).date(), row["type"], row["status"],
                 "FAILED" in (row["status"], row["operation_status"]),
                 bool(row["failed_rows"]))] += 1
    return counted


def rolled() -> Counter:
    return Counter({(d, t, s, f, w): n for d, t, s, f, w, n in DayCount.objects.values_list(
        "day", "type", "status", "failed", "with_failed_rows", "count")})


@pytest.mark.django_db
def test_the_outcome_rollups_equal_a_recount_whatever_order_details_come_in(settings):
    bodies = with_results(generated(500, seed=21, days=60), seed=22)
    rng = random.Random(23)
    rng.shuffle(bodies)
    first, later = bodies[:300], bodies[300:]
    archive_actions([Action.from_json(list_item(b)) for b in bodies])  # the list comes first
    assert rolled() == recount()
    for body in first:  # details arrive later than the list items, a few twice
        archive_action(Action.from_json(body))
        if rng.random() < 0.1:
            archive_action(Action.from_json(body))
    archive_actions([Action.from_json(b) for b in later[:100]], detail=True)  # in a batch
    for body in first[:30]:  # a detail that says otherwise: its failed rows went up
        result = {"done_count": 1, "failed_count": 7} if body["status"] == "DONE" else None
        archive_action(Action.from_json({**body, **({"result": result} if result else {})}))
    incremental = rolled()
    truth = recount()
    assert incremental == truth
    with_rows = sum(n for key, n in truth.items() if key[2] == "DONE" and key[4])
    assert with_rows > 50  # the data did exercise "Done with failures"
    assert sum(truth.values()) == 500

    settings.ARCHIVE_RETENTION_DAYS = 30  # some leave the archive, with their counts
    assert prune().deleted > 0
    assert rolled() == recount()
    rollups.rebuild()  # the rebuild (the migration's path) agrees too
    assert rolled() == recount()


@pytest.mark.django_db
def test_an_import_with_failed_rows_counts_in_the_failure_share_once_its_detail_arrives():
    body = {"id": "aa_0c5543f00797b6113f", "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
            "created_at": "2026-11-28T09:00:00.000Z", "updated_at": "2026-11-28T09:00:05.000Z"}
    clean = {**body, "id": "aa_0c5543f00797b6114a", "result": {"failed_count": 0},
             "processing_time": 5000}
    archive_action(Action.from_json(clean))
    archive_actions([Action.from_json(body)])  # the list item: no result yet
    figures = charts.overview(NOW, live=charts.LiveNow()).types[0]
    assert (figures.total, figures.failed, figures.partly, figures.failure_share) == (2, 0, 0, 0)

    archive_action(Action.from_json({**body, "processing_time": 5000,
                                     "result": {"done_count": 1, "failed_count": 299}}))
    data = charts.overview(NOW, live=charts.LiveNow())
    figures = data.types[0]
    assert (figures.total, figures.failed, figures.partly) == (2, 0, 1)
    assert figures.failure_share == 0.5 and figures.failure_percent == "50.0"
    assert [t.type for t in data.most_failing] == ["VOUCHERS.IMPORT_CSV"]
    bar = data.days[-1]
    assert (bar.counts, bar.with_failures) == ({"DONE": 2, "FAILED": 0}, 1)


def test_day_links_use_the_list_parameters():
    url = day_list_url(date(2026, 11, 28), "FAILED", 30)
    parts = urlsplit(url)
    assert parts.path == "/actions/"
    state = parse_list_params({k: v[0] for k, v in parse_qs(parts.query).items()})
    assert not state.errors
    assert (state.status, state.limit) == ("FAILED", 100)
    assert state.start == datetime(2026, 11, 28, tzinfo=UTC)
    assert state.cursor.before == datetime(2026, 11, 29, tzinfo=UTC) and not state.cursor.seen
    assert "?" + parts.query == state.query()  # canonical: one state, one URL


def listed_ids(client, url: str) -> list[str]:
    """Every row the list shows from `url` on, following "Older" links."""
    ids: list[str] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        soup = BeautifulSoup(response.content, "html.parser")
        ids += [tr["id"].removeprefix("row-") for tr in soup.select("table.actions-table tbody tr")]
        older = soup.select_one('.pager a[rel="next"]')
        url = older["href"] if older else None
    return ids


def test_every_bar_links_to_a_list_of_exactly_its_count(synced, archive, operator_client):
    history = upstream_history(archive)
    done = [a for a in history if a["status"] == "DONE"]
    for action in done[:40]:  # their results are read: some have failed rows
        reads.fetch_result(action["id"])
    soup = BeautifulSoup(operator_client.get("/overview/").content, "html.parser")
    links = soup.select("svg#chart-days rect[data-href]")
    assert links
    checked = Counter()
    today = datetime.now(UTC).date().isoformat()
    for link in links:
        title = link.find("title").get_text()
        day, _, rest = title.partition(": ")
        if day == today:  # the newest day is read from Voucherify, not the archive
            continue
        shown = int(rest.split()[0])
        status = parse_qs(urlsplit(link["data-href"]).query)["status"][0]
        ids = listed_ids(operator_client, link["data-href"])
        assert len(ids) == len(set(ids)) == shown, (title, link["data-href"])
        on_day = {a["id"] for a in history if a["created_at"][:10] == day}
        assert set(ids) <= on_day
        checked[status] += 1
    assert checked["DONE"] and checked["FAILED"] and checked["DONE_WITH_FAILURES"]


def test_the_overview_reads_the_same_few_queries_whatever_the_archive_holds(
    archive, operator_client, settings
):
    # Archiving 800 actions can take over a minute on a busy machine: what the warm-up load
    # settles (the shared newest page, fresh for a poll interval; the cached user; the
    # session's idle touch) must still hold for the counted load right after it, or a TTL
    # ending between the two adds the refresh's queries to the overview's.
    settings.ACTIONS_POLL_INTERVAL = settings.USER_CACHE_SECONDS = 3600
    settings.SESSION_TOUCH_SECONDS = 3600

    def queries() -> list[str]:
        operator_client.get("/overview/")  # the session, the day's window and the page settle
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get("/overview/").status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    counted = [len(queries())]
    for seed in (31, 33):
        for body in with_results(generated(400, seed=seed, days=30), seed=seed + 1):
            archive_action(Action.from_json(body))
        counted.append(len(queries()))
    assert counted[0] == counted[1] == counted[2] <= 8, counted
    assert DayCount.objects.filter(with_failed_rows=True).exists()


def test_a_start_date_ends_the_upstream_scan_at_that_moment(archive, operator_client):
    """Today's bar is read from Voucherify: the scan stops where the day begins."""
    history = upstream_history(archive)
    since = max(datetime.fromisoformat(a["created_at"].replace("Z", "+00:00")) for a in history)
    created = [archive.create_action("VOUCHERS.IMPORT_CSV", duration=0.001) for _ in range(3)]
    start = since + timedelta(milliseconds=1)
    url = f"/actions/?start_date={start.isoformat().replace('+00:00', 'Z')}"
    archive.clear_stats()
    response = operator_client.get(url, follow=True)  # to the canonical address first
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    ids = {tr["id"].removeprefix("row-") for tr in soup.select("table.actions-table tbody tr")}
    assert ids == {a["id"] for a in created}
    assert archive.count(endpoint=LIST) == 1  # the newest page reached the start: no more
    assert "Only actions created from" in soup.select_one(".day-filter").get_text()
    assert soup.select_one("details.filter-disclosure summary").get_text().strip() == (
        "Filters (1 active)")


@pytest.mark.django_db(transaction=True)
def test_migration_0005_counts_the_failed_rows_of_actions_archived_before_it():
    from tests.test_history_migration import migrate

    latest = [(app, name) for app, name in MigrationExecutor(connection).loader.graph.leaf_nodes()
              if app == "history"]
    before = [("history", "0004_failed_items")]
    executor = migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("history", "ArchivedAction")
        now = datetime.now(UTC)
        bodies = with_results(generated(80, seed=41, days=20), seed=42)
        for index, body in enumerate(bodies):
            detail = index % 3 != 0
            created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
            old.objects.create(
                id=body["id"], type=body["type"], context=body["type"].split(".")[0][:32],
                status=body["status"], operation_status=body.get("operation_status", ""),
                created_at=created, duration_ms=body.get("processing_time"),
                result=body.get("result") if detail else None,
                raw={k: v for k, v in body.items() if k not in ("result", "user")},
                has_detail=detail, first_seen=now, last_synced=now)
    finally:
        migrate(latest)

    for index, body in enumerate(bodies):
        row = ArchivedAction.objects.get(pk=body["id"])
        if index % 3 == 0:  # known from the list only: no failed rows known
            assert row.failed_rows is None
        elif body["status"] == "DONE":  # with_results: a count, or a list kept whole
            result = body["result"]
            assert row.failed_rows == result.get("failed_count", len(result.get("failed", [])))
    assert rolled() == recount()
    assert DayCount.objects.filter(with_failed_rows=True, status="DONE").exists()
