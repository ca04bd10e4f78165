"""The per-process memory in front of the shared cache (dashboard/hot.py): what it
serves, what it never serves, and the cheaper Redis client and access log polls rely on."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from dashboard import hot
from dashboard.actions import poll_versions
from dashboard.observability.logging import QuietPollsFilter
from dashboard.polling import reads, stats, store
from dashboard.sharedcache import FailoverRedisCache
from tests.helpers.services import RedisServer


@pytest.fixture
def memory(settings):
    settings.POLL_MEMORY_SECONDS = 30  # long: nothing expires by itself during a test
    settings.ACTIONS_POLL_INTERVAL = 2
    hot.clear()
    yield
    hot.clear()


def written_behind(name: str, value: object, read_at: float) -> None:
    """Another process's write: straight into the shared cache, past this one's memory."""
    cache.set(name, store.Fetched(value, datetime.fromtimestamp(read_at, UTC)), 60)


def test_a_fresh_entry_is_served_from_memory_until_it_is_no_longer_fresh(memory, monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(store, "now", lambda: now)
    store.save("polling:test", "first")
    written_behind("polling:test", "second", now)
    assert store.load("polling:test").value == "first"  # the memory: no round trip
    now += 2.5  # past the poll interval: whether to read upstream is the shared cache's say
    written_behind("polling:test", "third", now - 0.1)
    assert store.load("polling:test").value == "third"


def test_a_write_in_this_process_replaces_what_it_remembers(memory):
    store.save("polling:test", "first")
    store.save_many({"polling:test": store.read_now("second")})
    assert store.load("polling:test").value == "second"
    assert cache.get("polling:test").value == "second"


def test_an_entry_read_stale_is_not_remembered(memory, monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(store, "now", lambda: now)
    written_behind("polling:test", "old", now - 10)
    assert store.load("polling:test").value == "old"
    assert store.recalled("polling:test") is None
    written_behind("polling:test", "new", now)
    assert store.load("polling:test").value == "new"


def test_without_memory_every_read_asks_the_shared_cache(settings):
    settings.POLL_MEMORY_SECONDS = 0
    hot.clear()
    store.save("polling:test", "first")
    written_behind("polling:test", "second", store.now())
    assert store.load("polling:test").value == "second"
    hot.put("polling:other", "kept?")
    assert hot.get("polling:other") is None


def test_the_poll_interval_is_worked_out_once_per_moment(memory, monkeypatch):
    worked_out = []
    monkeypatch.setattr(reads, "_poll_interval", lambda base: worked_out.append(base) or base)
    assert [reads.poll_interval() for _ in range(5)] == [2.0] * 5
    assert len(worked_out) == 1


def test_lookups_reach_the_shared_counters_once_their_second_is_over(memory, monkeypatch):
    now = 2_000_000.0
    monkeypatch.setattr(store, "now", lambda: now)
    stats._pending.clear()
    for _ in range(3):
        stats.record_lookup(hit=True)
    stats.record_lookup(hit=False)
    assert stats.lookups_last_minute() == (0, 0)  # still counted in this process only
    now += 1
    stats.record_lookup(hit=True)
    assert stats.lookups_last_minute() == (3, 1)


def test_memory_stays_bounded(memory, monkeypatch):
    monkeypatch.setattr(hot, "MAX_ENTRIES", 10)
    for number in range(25):
        hot.put(f"polling:test:{number}", number)
    assert len(hot._entries) <= 10
    assert hot.get("polling:test:24") == 24


class Clock:
    """hot.py's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_expired_entries_leave_memory_without_waiting_for_it_to_fill(memory, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(hot, "time", clock)
    for number in range(3):
        hot.put(f"polling:test:{number}", number, keep=1)
    clock.now += hot.SWEEP_SECONDS + 1
    hot.put("polling:test:later", "later", keep=1)
    assert list(hot._entries) == ["polling:test:later"]


def test_a_shared_render_stays_in_process_memory_only_a_moment(memory, settings, monkeypatch):
    settings.POLL_MEMORY_SECONDS = 0.5
    clock = Clock()
    monkeypatch.setattr(hot, "time", clock)
    renders = []

    def render() -> str:
        renders.append(1)
        return "<div>rendered</div>"

    assert poll_versions.shared_render("f00d", render, "live") == "<div>rendered</div>"
    clock.now += 1
    assert hot.get("polls:render:f00d:live") is None  # gone from this process's memory
    assert poll_versions.shared_render("f00d", render, "live") == "<div>rendered</div>"
    assert len(renders) == 1  # still shared through the cache: rendered once


def test_the_redis_backend_reuses_one_client_per_pool(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        backend = FailoverRedisCache(server.url, {})
        backend.set("probe", 1)
        assert backend.get("probe") == 1
        client = backend.primary._cache
        assert client.get_client("probe") is client.get_client("probe", write=True)
    finally:
        server.stop()


def access(status: str, *, htmx: bool) -> logging.LogRecord:
    atoms = {"m": "GET", "U": "/actions/live/", "s": status}
    if htmx:
        atoms["{hx-request}i"] = "true"
    return logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(m)s", (atoms,), None)


@pytest.mark.parametrize(("status", "htmx", "logged"), [
    ("200", True, False), ("204", True, False), ("286", True, False),
    ("401", True, True), ("500", True, True), ("200", False, True), ("204", False, True),
])
def test_answered_polls_are_left_out_of_the_access_log(status, htmx, logged):
    assert QuietPollsFilter().filter(access(status, htmx=htmx)) is logged


def test_an_idle_process_adds_its_last_second_without_a_next_poll(memory, monkeypatch):
    now = 3_000_000.0
    monkeypatch.setattr(store, "now", lambda: now)
    stats._pending.clear()
    stats.record_lookup(hit=True)
    stats.record_lookup(hit=False)
    assert stats.lookups_last_minute() == (0, 0)
    now += 1  # the second is over, and no poll comes: the process's own thread adds it
    deadline = time.monotonic() + 30
    while stats.lookups_last_minute() != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stats.lookups_last_minute() == (1, 1)
