"""Cache round trips around upstream calls (each a round trip to Redis in production).

A detail page's first read of an action (cold cache, nothing archived, the per-process memory
on as in production) makes a bounded number, and the poll after it still sees what the read
stored; the steps that saved some keep their behaviour (a kind of call listed, the auth
outcome written, a failing upstream unmarked, a lock let go only by its holder)."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import cache

from dashboard import after_response, hot, sharedcache
from dashboard.counters import bump
from dashboard.history import rows_later
from dashboard.history.models import ArchivedAction
from dashboard.observability import credentials
from dashboard.polling import budget, failing, stats
from dashboard.polling import reads as upstream
from dashboard.sharedcache import FailoverRedisCache
from tests.helpers.cachecalls import cache_calls
from tests.helpers.services import RedisServer
from tests.test_detail_polling import HTMX

RESULT = {"message": "1 imported, 2 failed.", "done_count": 1, "failed_count": 2,
          "failed": [{"code": "X1", "reason": "Duplicated code"},
                     {"code": "X2", "reason": "Voucher Type is required"}]}
# The session's read and write, the user's; the action's two reads, the lock and the look
# under it, the budget's three, the call's records (its counter, the upstream's rate state),
# the entry and the reads epoch stored, the lock let go. A live action's page also notes the
# cold read and works out its poll interval, its panel's shared render and next poll.
FINISHED_AT_MOST = 17
LIVE_AT_MOST = 23
LOOKUP_COUNTERS = ("polling:stats:hit:", "polling:stats:miss:")


def cold() -> None:
    """Nothing cached or archived; this process has met Voucherify before (a first page)."""
    rows_later.wait_all()
    cache.clear()
    hot.clear(memos=False)
    ArchivedAction.objects.all().delete()


def first_read(client, emulator, path: str) -> tuple[object, list[tuple[str, str]]]:
    client.get(path)  # once-only rows exist; this process has made such a call
    cold()
    emulator.clear_stats()
    with cache_calls() as calls:
        response = client.get(path)
    assert response.status_code == 200
    assert emulator.count(method="GET") == 1  # the one detail call
    # Left out: the lookup counters of seconds that are over, added by whichever request
    # comes first after them (stats.flush_lookups), not by this read.
    return response, [call for call in calls if not call[1].startswith(LOOKUP_COUNTERS)]


def test_a_finished_actions_first_read_asks_the_cache_a_few_times_and_its_poll_ends(
    support_client, emulator, memory_clock
):
    action_id = emulator.create_action("VOUCHERS.IMPORT_CSV", duration=0, result=RESULT)["id"]
    path = f"/actions/{action_id}/"
    page, calls = first_read(support_client, emulator, path)
    assert b"X2" in page.content
    assert len(calls) <= FINISHED_AT_MOST, "\n".join(map(str, calls))

    poll = support_client.get(f"{path}?seen=DONE", **HTMX)
    assert poll.status_code == 286  # finished: the polling ends, from what the read stored
    assert emulator.count(method="GET") == 1


def test_a_live_actions_first_read_asks_the_cache_a_few_times_and_its_poll_refreshes(
    support_client, emulator, memory_clock, still_clock, settings
):
    settings.ACTIONS_POLL_INTERVAL = 2.0
    action_id = emulator.create_action("VOUCHERS.IMPORT", duration=300)["id"]
    path = f"/actions/{action_id}/"
    page, calls = first_read(support_client, emulator, path)
    assert b'id="action-panel"' in page.content
    assert len(calls) <= LIVE_AT_MOST, "\n".join(map(str, calls))

    assert support_client.get(f"{path}?seen=ENQUEUED", **HTMX).status_code == 200
    assert emulator.count(method="GET") == 1  # fresh: served as read
    still_clock.advance(2.5)
    assert support_client.get(f"{path}?seen=ENQUEUED", **HTMX).status_code == 200
    assert emulator.count(method="GET") == 2  # one refresh once the interval is over


def test_a_kind_of_call_is_listed_once_a_minute_per_process(memory_clock):
    cache.clear()
    with cache_calls() as calls:
        stats.record_call("GET", "/v1/x", 200, 0.1)
        stats.record_call("GET", "/v1/x", 200, 0.1)
    assert [method for method, key in calls if key == stats.KINDS_KEY] == ["get", "set"]
    cache.clear()  # the list lost: back within a minute
    assert stats.calls_last_minute() == []
    memory_clock[0] += stats.KINDS_MEMORY_SECONDS  # a minute later
    stats.record_call("GET", "/v1/x", 200, 0.1)
    assert [count.endpoint for count in stats.calls_last_minute()] == ["/v1/x"]


def test_the_auth_outcome_is_written_when_it_changes_and_now_and_then(
    emulator, memory_clock
):
    with cache_calls() as calls:
        credentials.record(200)
        credentials.record(200)  # the same again: not written
        credentials.record(401)  # rejected: written at once
        credentials.record(200)
    assert [method for method, _ in calls] == ["set", "set", "set"]
    assert credentials.last().state == "good"
    cache.clear()
    memory_clock[0] += credentials.REWRITE_SECONDS  # a while later
    credentials.record(200)
    assert credentials.last().state == "good"


def test_an_open_panel_is_noted_once_per_process_every_few_seconds(emulator, memory_clock):
    with cache_calls() as calls:
        budget.note_panel_open()
        memory_clock[0] += budget.PANELS_MARK_SECONDS / 2
        budget.note_panel_open()  # every poll of every open panel: no round trip
        memory_clock[0] += budget.PANELS_MARK_SECONDS
        budget.note_panel_open()
    assert [method for method, key in calls] == ["set", "set"]
    assert cache.get(budget.PANELS_KEY) is not None


def _failing_calls(calls: list[tuple[str, str]]) -> list[str]:
    return [method for method, key in calls if key == failing.KEY]


def test_a_successful_call_unmarks_a_failing_upstream_only_when_it_was_marked(layer):
    ids = [emulator_action(layer) for _ in range(2)]
    with cache_calls() as calls:
        upstream.fetch_action(ids[0])
    assert _failing_calls(calls) == []  # read with the budget's state, found unmarked
    failing.mark()  # another process's call met a failing upstream
    assert upstream.poll_interval() >= 3 * 2.0
    with cache_calls() as calls:
        upstream.fetch_action(ids[1])
    assert _failing_calls(calls) == ["delete"]
    assert not failing.failing()
    assert layer.count(method="GET") == 2


def emulator_action(emulator) -> str:
    return emulator.create_action("VOUCHERS.IMPORT", duration=0)["id"]


@pytest.fixture
def redis_cache(tmp_path):
    """The production backend over a private redis-server."""
    server = RedisServer(tmp_path).start()
    try:
        yield FailoverRedisCache(server.url, {})
    finally:
        server.stop()


def test_a_lock_is_let_go_in_one_round_trip_and_only_by_its_holder(redis_cache, monkeypatch):
    redis_cache.add("lock", "mine", 10)
    sent = []
    client = redis_cache.primary._cache.get_client("lock", write=True)
    real = client.execute_command
    monkeypatch.setattr(client, "execute_command",
                        lambda *args, **options: sent.append(args[0]) or real(*args, **options))
    assert not sharedcache.delete_if_equal(redis_cache, "lock", "theirs")
    assert redis_cache.get("lock") == "mine"
    sent.clear()
    assert sharedcache.delete_if_equal(redis_cache, "lock", "mine")
    assert sent == ["EVAL"]  # the check and the delete together
    assert redis_cache.get("lock") is None


def test_a_redis_that_runs_no_scripts_lets_a_lock_go_with_a_get_and_a_delete(
    redis_cache, monkeypatch
):
    def refused(*args, **kwargs):
        raise redis.exceptions.NoPermissionError("this user has no permissions to run 'eval'")

    monkeypatch.setattr(redis_cache.primary._cache, "delete_if_equal", refused)
    redis_cache.add("lock", "mine", 10)
    assert not sharedcache.delete_if_equal(redis_cache, "lock", "theirs")
    assert sharedcache.delete_if_equal(redis_cache, "lock", "mine")
    assert redis_cache.get("lock") is None and not sharedcache.degraded()


def test_the_local_memory_lets_a_lock_go_only_by_its_holder():
    cache.add("lock", "mine", 10)
    assert not sharedcache.delete_if_equal(cache, "lock", "theirs")
    assert sharedcache.delete_if_equal(cache, "lock", "mine")
    assert cache.get("lock") is None


def test_a_call_spends_its_budget_in_one_round_trip(layer):
    budget.spend(background=False)  # the counters of this second exist: bumped, not created
    with cache_calls() as calls:
        budget.spend(background=False)
    assert [method for method, _ in calls] == ["bump_and_get_many"]
    assert budget.spent() == 2


def test_a_call_held_back_by_voucherify_spends_nothing(layer):
    cache.set(budget.RETRY_AT_KEY, budget.store.now() + 30, 60)
    with pytest.raises(budget.BudgetExhaustedError):
        budget.spend(background=False)
    assert budget.spent() == 0


def test_counters_are_bumped_and_keys_read_in_one_round_trip_on_redis(redis_cache, monkeypatch):
    redis_cache.set("state", {"held": True}, 60)
    redis_cache.add("b", 4, 60)
    sent = []
    client = redis_cache.primary._cache.get_client("a", write=True)
    real = client.execute_command
    monkeypatch.setattr(client, "execute_command",
                        lambda *args, **options: sent.append(args[0]) or real(*args, **options))
    found = sharedcache.bump_and_get_many(redis_cache, ["a", "b"], 60, ["state", "a", "b", "c"])
    assert sent == ["EVAL"]
    assert found == ([1, 5], {"state": {"held": True}, "a": 1, "b": 5})
    assert redis_cache.get_many(["a", "b"]) == {"a": 1, "b": 5}
    assert 0 < client.ttl(redis_cache.primary.make_key("a")) <= 60  # a new counter expires


def test_a_redis_that_runs_no_scripts_bumps_and_reads_with_one_command_each(
    redis_cache, monkeypatch
):
    def refused(*args, **kwargs):
        raise redis.exceptions.NoPermissionError("this user has no permissions to run 'eval'")

    monkeypatch.setattr(redis_cache.primary._cache, "bump_and_get_many", refused)
    redis_cache.add("b", 4, 60)
    found = sharedcache.bump_and_get_many(redis_cache, ["a", "b"], 60, ["a", "b", "c"])
    assert found == ([1, 5], {"a": 1, "b": 5}) and not sharedcache.degraded()


def test_the_local_memory_bumps_and_reads_as_redis_does():
    cache.add("b", 4, 60)
    assert sharedcache.bump_and_get_many(cache, ["a", "b"], 60, ["a", "b", "c"]) == (
        [1, 5], {"a": 1, "b": 5})


def test_a_counter_on_redis_is_bumped_in_one_round_trip_and_one_made_for_good_never_expires(
    redis_cache, monkeypatch
):
    monkeypatch.setattr("dashboard.counters.cache", redis_cache)
    sent = []
    client = redis_cache.primary._cache.get_client("a", write=True)
    real = client.execute_command
    monkeypatch.setattr(client, "execute_command",
                        lambda *args, **options: sent.append(args[0]) or real(*args, **options))
    assert [bump("visits", 60) for _ in range(3)] == [1, 2, 3]
    assert [bump("generation", None, by=2) for _ in range(2)] == [2, 4]
    assert sent == ["EVAL"] * 5
    assert 0 < client.ttl(redis_cache.primary.make_key("visits")) <= 60
    assert client.ttl(redis_cache.primary.make_key("generation")) == -1  # no expiry


def test_a_refused_call_gives_its_counts_back_in_one_round_trip(layer):
    cache.set(budget.RETRY_AT_KEY, budget.store.now() + 30, 60)
    with cache_calls() as calls, pytest.raises(budget.BudgetExhaustedError):
        budget.spend(background=False)
    assert [method for method, _ in calls] == ["bump_and_get_many"] * 2


@pytest.mark.django_db
def test_an_upstream_calls_bookkeeping_is_written_once_the_page_has_answered(emulator):
    action_id = emulator_action(emulator)
    after_response._request_started()  # as request_started does (its signal would also
    try:  # close the test's database connection)
        with cache_calls() as calls:
            upstream.fetch_action(action_id)
        # Neither the call's count (the status page's) nor the upstream's auth outcome.
        assert not [key for _, key in calls
                    if any(name in key for name in (stats.KINDS_KEY, ":stats:call:",
                                                     credentials.CACHE_KEY))]
    finally:
        after_response._request_finished()
    assert [count.endpoint for count in stats.calls_last_minute()] == ["/v1/async-actions/{id}"]
    assert credentials.last().state == "good"
