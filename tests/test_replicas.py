"""Two gunicorn replicas sharing one real PostgreSQL and one real Redis (issue 9, "Done when").

Shows: a login on one replica holds on the other, the polling budget is shared (counted by
the emulator), /metrics counters move across workers, logs are JSON lines, and /readyz
names each dependency truthfully when it is stopped. Runs in `make test`; never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from bs4 import BeautifulSoup
from prometheus_client.parser import text_string_to_metric_families

from dashboard.emulator.control import EmulatorControl
from dashboard.emulator.server import EmulatorServer
from dashboard.history import purge_reads
from tests.helpers.services import (
    Browser,
    MissingService,
    PostgresServer,
    RedisServer,
    Replica,
    manage,
)

BUDGET = 6  # upstream calls a minute, for both replicas together
APP_ID, APP_TOKEN = "replica-app-id", "replica-app-token-0042"
SECRET_KEY = "replica-test-secret-key-not-for-production-7c1e9a"
METRICS_TOKEN = "replica-metrics-token-3b8d"
USERNAME, PASSWORD = "replica-operator", "a-long-replica-password-5581"
_INHERITED_PREFIXES = ("DJANGO_", "VOUCHERIFY_", "GUNICORN_", "PROMETHEUS_", "DATABASE_URL",
                       "REDIS_URL", "METRICS_TOKEN", "WEB_CONCURRENCY", "PORT")


@dataclass
class Stack:
    postgres: PostgresServer
    redis: RedisServer
    emulator: EmulatorControl
    a: Replica
    b: Replica


@pytest.fixture(scope="module")
def stack():
    work = Path(tempfile.mkdtemp(prefix="dashboard-replicas-"))
    try:
        postgres, redis = PostgresServer(), RedisServer(work)
    except MissingService as missing:
        pytest.fail(str(missing))
    upstream = EmulatorServer(app_id=APP_ID, app_token=APP_TOKEN, live_every=0).start()
    replicas: list[Replica] = []
    try:
        postgres.start().create_database()
        redis.start()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(_INHERITED_PREFIXES)}
        env.update(
            DJANGO_SETTINGS_MODULE="dashboard.settings", DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=SECRET_KEY, DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SSL_REDIRECT="0", DJANGO_SECURE_COOKIES="0", DJANGO_HSTS_SECONDS="0",
            DJANGO_LOG_FORMAT="json", DJANGO_STATIC_ROOT=str(work / "static"),
            DATABASE_URL=postgres.url, REDIS_URL=redis.url, METRICS_TOKEN=METRICS_TOKEN,
            VOUCHERIFY_API_URL=upstream.url, VOUCHERIFY_APP_ID=APP_ID,
            VOUCHERIFY_APP_TOKEN=APP_TOKEN, VOUCHERIFY_CALLS_PER_MINUTE=str(BUDGET),
            GUNICORN_WORKERS="2", GUNICORN_THREADS="2",
        )
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-c", (
            "from django.contrib.auth import get_user_model\n"
            "from dashboard.accounts.roles import ensure_role\n"
            f"user = get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
            "user.groups.add(ensure_role('operator'))\n"
        ))
        replicas = [Replica("a", env, work), Replica("b", env, work)]
        for replica in replicas:
            replica.start()
        yield Stack(postgres, redis, EmulatorControl(upstream.url), *replicas)
    finally:
        for replica in replicas:
            replica.stop()
        redis.stop()
        postgres.remove()
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)


def log_in(browser: Browser, base: str) -> None:
    form = BeautifulSoup(browser.get(base + "/accounts/login/").text, "html.parser")
    csrf = form.find("input", {"name": "csrfmiddlewaretoken"})["value"]
    answer = browser.post(base + "/accounts/login/",
                          {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    assert answer.status == 302, answer.text[:500]
    assert answer.headers["Location"] == "/actions/"


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    page = Browser().get(base + "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert page.status == 200, page.text[:300]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items()
               if sample == name and wanted <= found)


def readiness(base: str) -> tuple[int, dict]:
    page = Browser().get(base + "/readyz")
    return page.status, json.loads(page.text)


def test_a_login_on_one_replica_holds_on_the_other(stack):
    browser = Browser()
    log_in(browser, stack.a.url)

    on_b = browser.get(stack.b.url + "/actions/")
    assert on_b.status == 200
    assert BeautifulSoup(on_b.text, "html.parser").select_one("#id_password") is None

    stranger = Browser().get(stack.b.url + "/actions/")
    assert stranger.status == 302
    assert stranger.headers["Location"].startswith("/accounts/login/")


def test_the_polling_budget_is_shared_by_both_replicas(stack):
    listing = urllib.request.Request(
        stack.emulator.url + "/v1/async-actions?limit=40",
        headers={"X-App-Id": APP_ID, "X-App-Token": APP_TOKEN},
    )
    with urllib.request.urlopen(listing, timeout=10) as response:
        ids = [action["id"] for action in json.load(response)["async_actions"]]
    assert len(ids) >= 4 * BUDGET  # each replica alone could spend the whole budget
    browser = Browser()
    log_in(browser, stack.a.url)
    redis.Redis.from_url(stack.redis.url).flushdb()  # nothing cached, the whole budget left
    stack.emulator.clear_stats()
    before = {replica.name: scrape(replica.url) for replica in (stack.a, stack.b)}

    statuses = [
        browser.get(f"{(stack.a, stack.b)[index % 2].url}/actions/{action_id}/").status
        for index, action_id in enumerate(ids[: 4 * BUDGET])
    ]
    # Past the budget a page says it will try again (503), never a server error.
    assert set(statuses) <= {200, 503} and 503 in statuses, statuses

    upstream_calls = stack.emulator.count()
    assert 0 < upstream_calls <= BUDGET
    after = {replica.name: scrape(replica.url) for replica in (stack.a, stack.b)}
    per_replica = {
        name: total(after[name], "dashboard_upstream_calls_total")
        - total(before[name], "dashboard_upstream_calls_total")
        for name in after
    }
    assert sum(per_replica.values()) == upstream_calls
    assert all(calls > 0 for calls in per_replica.values()), per_replica
    # Both replicas read the same shared budget.
    assert total(after["a"], "dashboard_upstream_budget_left") == total(
        after["b"], "dashboard_upstream_budget_left"
    )


def test_metrics_count_requests_from_every_worker(stack):
    assert Browser().get(stack.a.url + "/metrics").status == 401
    browser = Browser()
    log_in(browser, stack.a.url)
    before = scrape(stack.a.url)
    # The budget may be spent by now (a 503 page that says so): these count either way.
    for _ in range(6):  # two workers: in multiprocess mode every worker's count is merged
        assert browser.get(stack.a.url + "/actions/").status in (200, 503)
    browser.get(stack.a.url + "/actions/", {"HX-Request": "true"})
    after = scrape(stack.a.url)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("dashboard_requests_total", view="actions:list") == 7
    assert moved("dashboard_request_seconds_count", view="actions:list") == 7
    assert moved("dashboard_poll_requests_total", view="actions:list") == 1
    assert total(after, "dashboard_active_viewers") >= 1


def test_a_granian_replica_serves_the_same_dashboard(stack, tmp_path):
    """`make serve SERVER=granian` (dashboard/granian_server.py): the same production settings,
    login, polls and metrics behind granian instead of gunicorn."""
    replica = Replica("granian", stack.a.env, tmp_path, server="granian").start()
    try:
        browser = Browser()
        log_in(browser, stack.a.url)  # on gunicorn: the session holds on granian
        page = browser.get(replica.url + "/actions/")
        assert page.status in (200, 503) and "Voucherify dashboard" in page.text
        poll = browser.get(replica.url + "/actions/live/?ids=aa_0000000000000000aa",
                           {"HX-Request": "true"})
        assert poll.status in (200, 204, 286)
        anonymous = Browser().get(replica.url + "/actions/")
        assert anonymous.status == 302
        assert anonymous.headers["Location"].startswith("/accounts/login/")
        assert total(scrape(replica.url), "dashboard_requests_total", view="actions:list") >= 1
    finally:
        replica.stop()


def test_logs_are_json_lines_with_request_ids_and_no_secrets(stack):
    page = Browser().get(stack.b.url + "/healthz", {"X-Request-ID": "probe-1234"})
    assert page.headers["X-Request-ID"] == "probe-1234"
    stack.b.stop()  # flushes its log
    stack.b.start()
    text = stack.b.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(line["request_id"] == "probe-1234" and line["path"] == "/healthz"
               for line in access)
    assert all(line.startswith("{") for line in text.splitlines() if line.strip())
    for secret in (SECRET_KEY, METRICS_TOKEN, APP_TOKEN, PASSWORD):
        assert secret not in text


def ready_on_every_replica(stack, status: int, failing: list[str]) -> list[dict]:
    """Assert each replica's /readyz status and failing checks; a failing one stays live."""
    bodies = []
    for replica in (stack.a, stack.b):
        answer = readiness(replica.url)
        assert (answer[0], answer[1]["failing"]) == (status, failing), answer[1]
        if failing:
            assert Browser().get(replica.url + "/healthz").status == 200
        bodies.append(answer[1])
    return bodies


def credentials_states(bodies: list[dict]) -> list[str]:
    return [body["checks"]["upstream_credentials"]["status"] for body in bodies]


PURGE_SCRIPT = """
import json, random
from dashboard.emulator import seed
from dashboard.history import purge_reads
from dashboard.history.archive import archive_actions
from dashboard.voucherify.models import Action
from django.db import connection
rng = random.Random(5)
made = []
for n, created_ms in enumerate((1780000000000, 1780000000123)):
    action = seed.new_action(rng, "ORDERS.METADATA_KEY_PURGE", created_ms, 1000, "DONE",
        action_id=f"aa_pgpurge{n:011d}", user={"name": "\\U0001d518" * 20000},
        request_id="\\u4e2d" * 100, log_id="\\u4e2d" * 100,
        result={"message": "Updated " + "9" * 5000 + " orders."})
    made.append(Action.from_json(action.render(created_ms + 10 ** 9)))
stored = archive_actions(made, detail=True)
with connection.cursor() as cursor:
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'history_purge_idx'")
    index = cursor.fetchone()[0]
rows = [list(row) for row in purge_reads.PurgeSelection().texts() if row[0].startswith("aa_pg")]
print(json.dumps({"stored": stored, "index": index, "rows": rows}))
"""


def test_purges_with_absurd_cells_are_archived_and_read_from_the_index_on_postgresql(stack):
    """Migration 0010 on PostgreSQL: the purge index carries every column the audit reads, and
    a purge whose user, count and ids come from upstream absurdly long (four bytes a
    character) is still archived (its entry would otherwise pass the B-tree's 2,704-byte
    limit and the whole write fail), and audited whole. Timestamps read as text are written
    as str(datetime) writes them (no microseconds when there are none), as on SQLite."""
    found = json.loads(manage(stack.a.env, "shell", "-c", PURGE_SCRIPT).strip().splitlines()[-1])
    assert found["stored"] == 2
    assert "INCLUDE (type, status, has_detail, updated_at, duration_ms, request_id, log_id, " \
           "started_by, records_updated)" in found["index"]
    columns = purge_reads.COLUMNS
    newest, oldest = found["rows"]
    assert newest[columns.index("created_at")] == "2026-05-28 20:26:40.123000"
    assert oldest[columns.index("created_at")] == "2026-05-28 20:26:40"
    for row in found["rows"]:  # whole: the index's cut cells are worked out again
        assert row[columns.index("started_by")] == "\U0001d518" * 20000
        assert row[columns.index("records_updated")] == "9" * 5000
        assert row[columns.index("request_id")] == "\u4e2d" * 100


HOSTILE_ROWS_SCRIPT = """
import json, random
from dashboard.emulator import seed
from dashboard.emulator.results import KNOWN_TYPES
from dashboard.history import failed_items, rollups
from dashboard.history.archive import archive_actions, archived_detail, to_action
from dashboard.history.failures import FailureQuery
from dashboard.history.models import ArchivedAction, DayCount, DurationCount, WindowDuration
from dashboard.voucherify.models import Action
rng = random.Random(23)
PIECES = ["'", '"', "\\\\", "{", "}", ",", "[", "]", "\\t", "\\n", "\\x01", "\\x7f", "null",
          "\\x00", "\\u202e", "\\U0001d518", "\\u00e9", "%s", "$1", "::json", "\\\\u0041", " ", "a"]
def text(limit):
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, limit)))
def value(depth=0):
    kind = rng.randrange(7 if depth < 2 else 4)
    if kind == 0: return text(12)
    if kind == 1: return rng.choice([None, True, False, 0, -1, 10 ** 30, 1.5, "", "null",
                                     float("nan"), float("-inf"), "NaN"])
    if kind == 2: return rng.randint(-10 ** 6, 10 ** 6)
    if kind == 3: return text(3) or None
    if kind == 4: return [value(depth + 1) for _ in range(rng.randint(0, 3))]
    return {text(6): value(depth + 1) for _ in range(rng.randint(0, 3))}
base = 1780000000000
made = []
for n in range(400):
    outcome = rng.choice(["DONE", "DONE", "FAILED"])
    action = seed.new_action(rng, rng.choice(KNOWN_TYPES), base + n * 997, rng.randint(0, 10 ** 7),
        outcome, action_id=f"aa_pgjson{n:010d}", user=rng.choice([None, {"name": text(40)}]),
        request_id=text(30)[:100])
    rendered = action.render(base + 10 ** 10)
    rendered["metadata"] = value()
    rendered["result"] = rng.choice([value(), rendered.get("result")])
    made.append(rendered)
lists = [Action.from_json({k: v for k, v in raw.items() if k not in ("result", "user", "log_id",
         "processing_time")}) for raw in made]
too_long = Action.from_json({**made[0], "id": "aa_pgjson" + "f" * 60})  # beyond the key
stored_lists = archive_actions([too_long, *lists])
details = [Action.from_json(raw) for raw in made[::2]]
stored_details = archive_actions(details, detail=True)
def standin(value):  # what PostgreSQL takes instead (postgres_text.py)
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, str):
        return value.replace("\\x00", "\\ufffd")
    if isinstance(value, list):
        return [standin(item) for item in value]
    if isinstance(value, dict):
        return {standin(key): standin(item) for key, item in value.items()}
    return value
rows = {row.id: row for row in ArchivedAction.objects.filter(id__startswith="aa_pgjson")}
as_listed = all(to_action(rows[a.id]).raw == standin(a.raw) for a in lists[1::2])
as_detailed = all(archived_detail(a.id)[0].raw == standin(a.raw) for a in details)
big = seed.new_action(rng, "VOUCHERS.IMPORT_CSV", base, 1000, "FAILED",
                      action_id="aa_pgjsonbig0001")
big = big.render(base + 10 ** 10)
big["result"] = {"failed_count": 60, "failed": [
    {"row": n, "code": "bad\\x00code", "reason": "Bad \\x00" + "xyz"[n % 3]} for n in range(60)]}
archive_actions([Action.from_json(big)], detail=True)
stored = failed_items.load("aa_pgjsonbig0001")
one = FailureQuery(reason="Bad \\ufffdx")
failed_rows = [len(stored), stored.count_matching(one), len(list(stored.rows_for(one))),
               len(list(stored.rows_for(FailureQuery(search="\\x00y"))))]
huge = seed.new_action(rng, "VOUCHERS.IMPORT_CSV", base, 1000, "DONE",
                       action_id="aa_pgjsonhuge001").render(base + 10 ** 10)
huge["result"] = {"done_count": 10 ** 30, "failed_count": 10 ** 12}
archive_actions([Action.from_json(huge)], detail=True)
failed_rows.append(ArchivedAction.objects.get(pk="aa_pgjsonhuge001").failed_rows)
def counts():
    return (sorted(DayCount.objects.values_list("day", "type", "status", "failed",
                                               "with_failed_rows", "count")),
            sorted(DurationCount.objects.values_list("day", "type", "bucket_ms", "count")))
by_deltas = counts()
rollups.rebuild()
print(json.dumps({"stored": [stored_lists, stored_details], "as_listed": as_listed,
                  "as_detailed": as_detailed, "rollups_agree": by_deltas == counts(),
                  "failed_rows": failed_rows}))
"""


def test_hostile_rows_are_archived_and_read_back_exactly_on_postgresql(stack):
    """On PostgreSQL new rows, detail updates and rollups go as one JSON document per
    statement (many_rows.py). 400 generated actions whose texts and JSON are made of quotes,
    backslashes, braces, NUL, control and four-byte characters, escapes, literal "null" and
    JSON numbers NaN and Infinity are archived as list items, half of them improved by their
    detail, and read back as they came, but what PostgreSQL refuses written as it takes it
    (postgres_text.py: NUL as U+FFFD, NaN and Infinity as text); the rollups the
    writes added agree with a recount of the archive. A big result whose failed rows carry NUL
    is stored apart, and its rows are found by reason (as a browser sends it back) and by a
    search for text with NUL. A failed_count beyond the column's integer is stored as its
    largest value instead of failing the write, and an id longer than the archive's key is
    left out instead of failing its whole page's insert."""
    out = manage(stack.a.env, "shell", "-c", HOSTILE_ROWS_SCRIPT)
    found = json.loads(out.strip().splitlines()[-1])
    assert found == {"stored": [400, 200], "as_listed": True, "as_detailed": True,
                     "rollups_agree": True, "failed_rows": [60, 20, 20, 20, 2 ** 31 - 1]}


def test_readyz_names_each_dependency_that_is_stopped(stack):
    """Last of the module: it leaves PostgreSQL stopped."""
    assert credentials_states(ready_on_every_replica(stack, 200, [])) == ["ok", "ok"]

    stack.redis.stop()
    ready_on_every_replica(stack, 503, ["cache"])

    stack.redis.start()  # same port, empty: nothing known about the credentials yet
    assert credentials_states(ready_on_every_replica(stack, 200, [])) == ["unknown", "unknown"]

    stack.postgres.stop()
    ready_on_every_replica(stack, 503, ["database"])

