"""Active viewers: each session counted once a minute, with no cache round trip per poll."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from dashboard import counters
from dashboard.observability import viewers

MINUTE = viewers.WINDOW_SECONDS
START = 1_000_000 * MINUTE  # the start of some window


class CountingCache:
    """The real cache, counting the calls made through it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        self.calls.append(name)
        return getattr(cache, name)


@pytest.fixture
def counting_cache(monkeypatch) -> CountingCache:
    cache.clear()
    counting = CountingCache()
    monkeypatch.setattr(viewers, "cache", counting)
    monkeypatch.setattr(counters, "cache", counting)  # the counter viewers bumps
    yield counting
    cache.clear()


def session_key() -> str:
    return uuid.uuid4().hex


def test_a_session_polling_all_minute_counts_once_and_asks_the_cache_once(counting_cache):
    key = session_key()
    for second in range(0, MINUTE, 2):
        viewers.seen(key, now=START + second)
    assert viewers.active(now=START + MINUTE - 1) == 1
    # the session's marker, and the counter (one round trip on Redis)
    assert counting_cache.calls == ["add", "bump_and_get_many", "get_many"]


def test_distinct_sessions_each_count(counting_cache):
    for _ in range(3):
        viewers.seen(session_key(), now=START)
    assert viewers.active(now=START) == 3


def test_the_count_holds_over_a_minute_boundary_without_doubling(counting_cache):
    key, other = session_key(), session_key()
    viewers.seen(key, now=START)
    viewers.seen(other, now=START)
    viewers.seen(key, now=START + MINUTE)  # the next window, where only one was seen so far
    assert viewers.active(now=START + MINUTE) == 2
    assert viewers.active(now=START + 3 * MINUTE) == 0


def test_a_session_is_counted_again_after_the_cache_failed(counting_cache, monkeypatch):
    key = session_key()

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    with monkeypatch.context() as patch:
        patch.setattr(viewers, "cache", type("Down", (), {"add": staticmethod(unreachable)})())
        with pytest.raises(ConnectionError):
            viewers.seen(key, now=START)
    viewers.seen(key, now=START)
    assert viewers.active(now=START) == 1


@pytest.mark.django_db
def test_htmx_polls_of_a_logged_in_page_count_the_viewer_once(operator_client, counting_cache):
    for _ in range(5):
        response = operator_client.get("/accounts/password/", HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert viewers.active() == 1
    assert counting_cache.calls == ["add", "bump_and_get_many", "get_many"]
