"""Redis going away under a running dashboard: pages degrade, nothing answers 500, the login
works, /readyz names the cache, and everything is shared through Redis again once it is back.

A real redis-server is started and stopped; the dashboard reads the emulator over HTTP.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import redis
from bs4 import BeautifulSoup
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client

from dashboard import hot, sharedcache
from dashboard.accounts.models import LockoutEntry
from dashboard.history.models import ArchivedAction
from dashboard.history.prune import CACHE_AWAY, prune
from dashboard.polling import align, budget, economy, gate, store
from dashboard.voucherify.errors import BudgetExhaustedError, RateLimitedError
from tests.fixtures.users import ROLE_PASSWORD
from tests.helpers.services import RedisServer
from tests.helpers.upstream import DETAIL, upstream_calls
from tests.test_history_retention import fill

HTMX = {"HTTP_HX_REQUEST": "true"}
OUTAGE_CAP = 3
COOKIE = django_settings.SESSION_COOKIE_NAME


@pytest.fixture
def redis_server(tmp_path):
    """A private redis-server on a free port (it fails, never skips, when not installed)."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def shared_cache(emulator, redis_server, settings, monkeypatch):
    """The production cache backend over the real Redis; Redis is tried again on every call
    during an outage, so the test needs no waiting."""
    monkeypatch.setattr(sharedcache, "RETRY_SECONDS", 0.0)
    settings.CACHES = {
        "default": {
            "BACKEND": "dashboard.sharedcache.FailoverRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 40
    settings.VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE = OUTAGE_CAP
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
    # The fallback is process-wide memory: entries an earlier test left there (a cached user
    # whose id the rolled-back database gives to someone else) must not reach this one.
    cache.fallback.clear()
    yield redis_server
    if redis_server.process is None:
        redis_server.start()
    for _ in range(3):  # a pooled connection to the stopped server may fail once more
        cache.get("polling:probe")
    assert not sharedcache.degraded()  # the next test starts with Redis in use


def logged_in(username: str, user_factory) -> Client:
    user_factory("auditor", username)  # the role that also sees /status/
    client = Client()
    answer = client.post("/accounts/login/", {"username": username, "password": ROLE_PASSWORD})
    assert answer.status_code == 302
    return client


def pages(finished: str, live: str) -> dict[str, dict]:
    return {
        "/actions/": {},
        f"/actions/{finished}/": {},
        f"/actions/{live}/": HTMX,  # the open panel's poll
        f"/actions/live/?ids={live}": HTMX,
        "/overview/": {},
        "/status/": {},
    }


def sentence(response) -> str:
    problem = BeautifulSoup(response.content, "html.parser").select_one(".upstream-problem")
    return problem.get_text(" ", strip=True) if problem is not None else ""


def test_with_redis_down_every_page_answers_and_the_login_works(
    shared_cache, emulator, user_factory, caplog
):
    finished = emulator.create_action("CUSTOMERS.IMPORT_CSV", outcome="FAILED", duration=0)
    live = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    reader = logged_in("reader", user_factory)
    user_factory("support", "latecomer")
    wanted = pages(finished["id"], live["id"])
    assert {path: reader.get(path, **headers).status_code for path, headers in wanted.items()}[
        f"/actions/{finished['id']}/"] == 200  # read once: the archive holds it now

    shared_cache.stop()
    caplog.set_level(logging.ERROR, logger="dashboard.sharedcache")
    during = {path: reader.get(path, **headers) for path, headers in wanted.items()}
    late = Client()
    login = late.post("/accounts/login/", {"username": "latecomer", "password": ROLE_PASSWORD})
    wrong = Client().post("/accounts/login/", {"username": "latecomer", "password": "not-it"})
    ready = Client().get("/readyz")

    assert {path: answer.status_code for path, answer in during.items()} == {
        path: 200 for path in wanted}
    assert finished["id"] in during[f"/actions/{finished['id']}/"].content.decode()
    assert login.status_code == 302 and late.get("/actions/").status_code == 200
    assert wrong.status_code == 200 and b"username" in wrong.content
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["cache"]
    assert "ConnectionError" in ready.json()["checks"]["cache"]["detail"]
    assert sharedcache.degraded()
    outage_logs = [record for record in caplog.records if record.name == "dashboard.sharedcache"]
    assert len(outage_logs) == 1  # once per outage, not per request


def test_with_redis_down_upstream_calls_stay_within_the_per_process_cap(
    shared_cache, emulator, user_factory
):
    reader = logged_in("reader", user_factory)
    shared_cache.stop()
    emulator.clear_stats()
    answers = [reader.get(f"/actions/aa_{secrets.token_hex(9)}/") for _ in range(10)]
    assert sorted({answer.status_code for answer in answers}) == [404, 503]
    assert upstream_calls(emulator, DETAIL) <= OUTAGE_CAP
    refused = next(answer for answer in answers if answer.status_code == 503)
    assert int(refused["Retry-After"]) >= 1 and sentence(refused)


def test_with_redis_down_each_process_times_the_early_poll_from_its_own_reads(
    shared_cache, emulator, user_factory
):
    """The next refresh's moment (polling/align.py) is kept in the local memory too: a
    process that reads the newest page itself during the outage still times its live
    elements' early poll just after its own next refresh."""
    emulator.create_action("VOUCHERS.IMPORT", duration=600)
    reader = logged_in("reader", user_factory)
    shared_cache.stop()
    page = reader.get("/actions/")
    assert page.status_code == 200
    trigger = BeautifulSoup(page.content, "html.parser").select_one("#live-poller")["hx-trigger"]
    delay = int(trigger.rsplit("load delay:", 1)[1].removesuffix("ms"))
    assert delay <= 1000 * economy.live_max_age() + align.AFTER_MS[1]  # not NEVER_MS
    assert sharedcache.degraded()


def test_the_lockout_still_locks_with_redis_down(shared_cache, emulator, user_factory, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user_factory("support", "target")
    shared_cache.stop()
    guesses = [Client().post("/accounts/login/", {"username": "target", "password": f"guess{n}"})
               for n in range(3)]
    right = Client().post("/accounts/login/", {"username": "target", "password": ROLE_PASSWORD})
    assert [guess.status_code for guess in guesses] == [200, 200, 429]
    assert right.status_code == 429 and right["Retry-After"]
    assert "Too many failed logins" in BeautifulSoup(right.content, "html.parser").get_text()
    # Kept in the database, which every process shares, and honoured once Redis is back.
    assert LockoutEntry.objects.filter(key__startswith="login-lock:user:").count() == 1
    shared_cache.start()
    for _ in range(3):
        cache.get("polling:probe")
    assert not sharedcache.degraded()
    after = Client().post("/accounts/login/", {"username": "target", "password": ROLE_PASSWORD})
    assert after.status_code == 429


def test_once_redis_is_back_it_is_shared_again(shared_cache, emulator, user_factory):
    reader = logged_in("reader", user_factory)
    shared_cache.stop()
    assert reader.get("/actions/").status_code == 200
    assert sharedcache.degraded()

    shared_cache.start()
    answers = [reader.get("/actions/").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert not sharedcache.degraded()
    assert Client().get("/readyz").json()["checks"]["cache"]["status"] == "ok"
    stored = redis.Redis.from_url(shared_cache.url).keys("*polling*")
    assert stored  # the newest page was read into Redis again, for every process


def test_a_session_ended_during_the_outage_stays_ended(shared_cache, emulator, user_factory):
    """Another process's logout counts here during the outage (this process's stand-in memory
    does not keep serving the session), and Redis, which still holds a session from before
    the outage, does not bring a logged-out one back once it answers."""
    reader = logged_in("reader", user_factory)
    other = logged_in("other", user_factory)
    redis.Redis.from_url(shared_cache.url).save()  # restarted, Redis holds what it held: as
    shared_cache.stop()  # after a network fault, not a lost server
    assert [reader.get("/actions/").status_code, other.get("/actions/").status_code] == [200, 200]
    # Another process's logout: the session leaves the database, not this process's memory.
    Session.objects.filter(session_key=other.cookies[COOKIE].value).delete()
    kept = reader.cookies[COOKIE].value
    assert reader.post("/accounts/logout/").status_code == 302
    ended_elsewhere = other.get("/actions/")
    cache.set("polling:outage-only", "kept in this process")

    shared_cache.start()
    for _ in range(3):
        cache.get("polling:probe")
    assert not sharedcache.degraded()
    replayed = Client()
    replayed.cookies[COOKIE] = kept  # the cookie from before the logout
    after = replayed.get("/actions/")

    assert ended_elsewhere.status_code == 302 and "/accounts/login/" in ended_elsewhere["Location"]
    assert after.status_code == 302 and "/accounts/login/" in after["Location"]
    assert cache.fallback.get("polling:outage-only") is None  # a later outage starts empty


def test_an_account_deactivated_elsewhere_during_the_outage_is_logged_out_here(
    shared_cache, emulator, user_factory, django_user_model
):
    """The user is read from the database while Redis is away: another process's change
    (made there through the ORM, dropping only that process's own memory) counts here too."""
    reader = logged_in("reader", user_factory)
    shared_cache.stop()
    assert reader.get("/actions/").status_code == 200  # the user, read during the outage
    django_user_model.objects.filter(username="reader").update(is_active=False)  # no signal here
    after = reader.get("/actions/")
    assert after.status_code == 302 and "/accounts/login/" in after["Location"]


@pytest.mark.parametrize("refusal", ["full", "read-only replica"])
def test_a_redis_that_answers_but_refuses_writes_degrades_like_one_that_is_away(
    shared_cache, emulator, user_factory, refusal
):
    """Redis full with noeviction answers every write "OOM ..."; a primary turned replica by a
    failover answers "READONLY ...": pages and the login work from the stand-in memory."""
    finished = emulator.create_action("CUSTOMERS.IMPORT_CSV", outcome="FAILED", duration=0)
    live = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    reader = logged_in("reader", user_factory)
    user_factory("support", "latecomer")
    direct = redis.Redis.from_url(shared_cache.url)
    if refusal == "full":
        direct.config_set("maxmemory-policy", "noeviction")
        direct.config_set("maxmemory", 1)
    else:
        direct.execute_command("REPLICAOF", "127.0.0.1", "1")  # a primary that never answers
    try:
        with pytest.raises(redis.exceptions.ResponseError):
            direct.set("polling:probe-write", "x")
        during = {path: reader.get(path, **headers).status_code
                  for path, headers in pages(finished["id"], live["id"]).items()}
        late = Client()
        login = late.post("/accounts/login/",
                          {"username": "latecomer", "password": ROLE_PASSWORD})
        degraded = sharedcache.degraded()
        ready = Client().get("/readyz")
    finally:
        direct.config_set("maxmemory", 0)
        direct.execute_command("REPLICAOF", "NO", "ONE")

    assert during == {path: 200 for path in during}
    assert login.status_code == 302 and late.get("/actions/").status_code == 200
    assert degraded
    assert ready.status_code == 503 and ready.json()["failing"] == ["cache"]


def test_an_error_about_the_command_itself_is_not_taken_for_an_outage(shared_cache):
    redis.Redis.from_url(shared_cache.url).set(":1:polling:not-a-number", "x")
    with pytest.raises(redis.exceptions.ResponseError):
        cache.incr("polling:not-a-number")
    assert not sharedcache.degraded()


@pytest.mark.parametrize("redis_during_the_429", ["up, then down", "down, then up"])
def test_a_429s_retry_moment_holds_calls_back_across_a_change_of_the_cache(
    shared_cache, emulator, redis_during_the_429
):
    """The moment a 429 names is kept in the process's memory too: Redis going away during
    the wait (the local fallback starts empty), or coming back (without what was noted in the
    fallback), must not let the next call through before it (the upstream would block the
    customer's integration for longer)."""
    down_first = redis_during_the_429 == "down, then up"
    if down_first:
        shared_cache.stop()
    emulator.clear_stats()
    emulator.set_faults(force_429=True, retry_after=30)
    with pytest.raises(RateLimitedError):
        gate.get_client().list_actions(limit=5)
    emulator.clear_faults()
    if down_first:
        shared_cache.start()
    else:
        shared_cache.stop()

    with pytest.raises(BudgetExhaustedError, match="asked the dashboard to hold back"):
        gate.get_client().list_actions(limit=5)
    assert sharedcache.degraded() is not down_first
    assert emulator.count() == 1


def calls_granted(tries: int) -> int:
    """How many of `tries` page loads' calls the budget lets through."""
    granted = 0
    for _ in range(tries):
        try:
            budget.spend(background=False)
            granted += 1
        except BudgetExhaustedError:
            pass
    return granted


@pytest.mark.parametrize("spent_before, granted_during", [(40, 0), (20, 1), (0, OUTAGE_CAP)])
def test_calls_spent_through_redis_still_count_once_it_is_away(
    shared_cache, settings, spent_before, granted_during
):
    """Each process's outage cap is its part of the shared budget: the calls the shared window
    held when Redis went away take their part of it, or every process would spend its whole
    outage cap on top of a full minute (40 + 3 per process within 60 s here)."""
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    for _ in range(spent_before):
        budget.spend(background=False)
    shared_cache.stop()

    assert calls_granted(10) == granted_during
    assert sharedcache.degraded()


def test_calls_spent_during_the_outage_still_count_once_redis_is_back(shared_cache, settings):
    """What a process spent from its own memory is added to the shared window when Redis
    answers again (the local memory is emptied then): the minute still holds the cap."""
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    shared_cache.stop()
    for _ in range(OUTAGE_CAP):
        budget.spend(background=False)
    shared_cache.start()

    assert calls_granted(50) == 40 - OUTAGE_CAP
    assert not sharedcache.degraded()
    assert budget.spent() == 40


@pytest.mark.django_db
def test_a_prune_stops_while_redis_is_away_so_no_cached_copy_outlives_its_rows(
    shared_cache, settings, monkeypatch
):
    """The deletes of pruned actions' cached copies wait in the process for Redis, up to a
    bound. A prune that went on through the outage overran it: once Redis was back, copies of
    pruned actions were served (a big result's first rows as all of them). It stops after the
    batch in hand instead, and the next run, Redis back, prunes the rest."""
    settings.ARCHIVE_RETENTION_DAYS = 20
    monkeypatch.setattr(sharedcache, "MAX_PENDING_DELETES", 20)  # a few batches' worth
    actions = fill(90)
    now = datetime.now(UTC)
    older = [a for a in actions if a.created_at <= now - timedelta(days=20)]
    assert len(older) > 3 * 7
    for action in actions:
        store.save(economy.final_key(action.id), action, forever=True)
    redis.Redis.from_url(shared_cache.url).save()  # restarted, Redis holds what it held
    shared_cache.stop()
    hot.clear()

    during = prune(now, batch=7)
    shared_cache.start()
    for _ in range(3):
        cache.get("polling:probe")
    assert not sharedcache.degraded()
    hot.clear()
    kept_copies = cache.get_many([economy.final_key(a.id) for a in older])
    archived = set(ArchivedAction.objects.filter(pk__in=[a.id for a in older])
                   .values_list("pk", flat=True))

    assert during.deleted == 7 and during.stopped == CACHE_AWAY
    assert {key.split(":")[-1] for key in kept_copies} <= archived  # no copy without its rows
    assert len(archived) == len(older) - 7
    after = prune(now, batch=7)
    assert after.deleted == len(older) - 7 and not after.stopped
    assert not cache.get_many([economy.final_key(a.id) for a in older])
