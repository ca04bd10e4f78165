"""The session and the user kept a moment in each process's memory (dashboard/accounts/
sessions.py, backends.py): a poll reads neither from the cache nor the database, and a logout,
an expiry or a role change made in another process counts here once the memory ends
(POLL_MEMORY_SECONDS), one made in this process at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from dashboard.accounts.backends import user_key
from dashboard.accounts.roles import OPERATOR
from dashboard.accounts.sessions import SessionStore
from tests.fixtures.polling import POLL_MEMORY_SECONDS as MEMORY_SECONDS

POLL = "/actions/live/?ids=junk"  # 400 once past the session, the user and the permission
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clock(memory_clock):
    return memory_clock


@pytest.fixture
def operator(user_factory):
    return user_factory(OPERATOR)


@pytest.fixture
def polling(client, operator, clock):
    client.force_login(operator)
    assert client.get(POLL, **HTMX).status_code == 400  # remembers the session and the user
    return client


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys each read of the shared cache asked for."""
    shared, asked = caches["default"], []
    for name in ("get", "get_many"):
        original = getattr(shared, name)

        def spy(keys, *args, _original=original, **kwargs):
            asked.extend([keys] if isinstance(keys, str) else list(keys))
            return _original(keys, *args, **kwargs)

        monkeypatch.setattr(shared, name, spy)
    return asked


def session_key(client) -> str:
    return client.cookies["sessionid"].value


def ended_elsewhere(key: str) -> None:
    """What another process's logout leaves: no session in the database or the shared cache."""
    Session.objects.filter(session_key=key).delete()
    caches["default"].delete(SessionStore.cache_key_prefix + key)


def test_a_remembered_poll_reads_no_session_or_user(
    polling, operator, cache_reads, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert polling.get(POLL, **HTMX).status_code == 400
    assert not [key for key in cache_reads if "sessions" in key or key == user_key(operator.pk)]


def test_without_memory_each_poll_reads_them_from_the_cache(
    client, operator, settings, cache_reads
):
    settings.POLL_MEMORY_SECONDS = 0
    client.force_login(operator)
    client.get(POLL, **HTMX)
    cache_reads.clear()
    assert client.get(POLL, **HTMX).status_code == 400
    assert SessionStore.cache_key_prefix + session_key(client) in cache_reads
    assert user_key(operator.pk) in cache_reads


def test_a_logout_in_this_process_counts_at_once(polling):
    polling.post("/accounts/logout/")
    response = polling.get(POLL, **HTMX)
    assert response.status_code == 401 and "/login/" in response["HX-Redirect"]


def test_a_logout_elsewhere_counts_once_the_memory_ends(polling, clock):
    ended_elsewhere(session_key(polling))
    assert polling.get(POLL, **HTMX).status_code == 400  # the bound: still remembered here
    clock[0] += MEMORY_SECONDS
    assert polling.get(POLL, **HTMX).status_code == 401


def test_an_idle_session_expired_elsewhere_counts_once_the_memory_ends(polling, clock):
    key = session_key(polling)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    caches["default"].delete(SessionStore.cache_key_prefix + key)  # the cache's TTL ran out
    clock[0] += MEMORY_SECONDS - 1
    assert polling.get(POLL, **HTMX).status_code == 400
    clock[0] += 1
    assert polling.get(POLL, **HTMX).status_code == 401


def test_a_role_taken_away_in_this_process_counts_at_once(polling, operator):
    operator.groups.clear()
    assert polling.get(POLL, **HTMX).status_code == 403


def test_a_role_taken_away_elsewhere_counts_once_the_memory_ends(polling, operator, clock):
    # Another process changes the membership and drops the shared entry (its signal's work).
    type(operator).groups.through.objects.filter(
        user=operator, group=Group.objects.get(name=OPERATOR)
    ).delete()
    caches["default"].delete(user_key(operator.pk))
    assert polling.get(POLL, **HTMX).status_code == 400
    clock[0] += MEMORY_SECONDS
    assert polling.get(POLL, **HTMX).status_code == 403


def test_a_deactivated_account_elsewhere_is_logged_out_once_the_memory_ends(
    polling, operator, clock
):
    type(operator).objects.filter(pk=operator.pk).update(is_active=False)
    caches["default"].delete(user_key(operator.pk))
    clock[0] += MEMORY_SECONDS
    assert polling.get(POLL, **HTMX).status_code == 401


@pytest.mark.parametrize("cookie", [None, "forged0000000000000000000000000000", "short"])
def test_a_poll_without_a_known_session_is_refused_while_others_are_remembered(polling, cookie):
    stranger = Client()
    if cookie:
        stranger.cookies["sessionid"] = cookie
    response = stranger.get(POLL, **HTMX)
    assert response.status_code == 401


def test_each_request_gets_its_own_copy(polling, operator):
    from dashboard.accounts.backends import CachedModelBackend

    first = CachedModelBackend().get_user(operator.pk)
    first.marked = True
    assert not hasattr(CachedModelBackend().get_user(operator.pk), "marked")
    store = SessionStore(session_key(polling))
    store["scribbled"] = 1
    assert "scribbled" not in SessionStore(session_key(polling)).load()
