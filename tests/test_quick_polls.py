"""Polls answered in front of Django (dashboard/quick_polls.py, the application of
dashboard/wsgi.py): a poll Django just answered for the same address and a session it just
let through is answered again without entering Django; anything else reaches Django."""

from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from prometheus_client import REGISTRY

from dashboard import hot, quick_polls, sharedcache
from dashboard.accounts.middleware import SessionIdleMiddleware
from dashboard.accounts.roles import SUPPORT
from dashboard.observability.logging import REQUEST_ID_HEADER
from dashboard.polling import align, economy, store
from dashboard.voucherify.models import Action
from dashboard.wsgi import application
from tests.fixtures.polling import POLL_MEMORY_SECONDS as MEMORY_SECONDS
from tests.helpers.html import EARLY_POLL_DELAY as DELAY
from tests.helpers.html import soup
from tests.helpers.upstream import detail, finish_action


@pytest.fixture
def clock(memory_clock, settings):
    settings.ACTIONS_POLL_INTERVAL = 30  # nothing the cache holds turns stale during a test
    settings.ACTIONS_MAX_POLL_INTERVAL = 60
    return memory_clock


@pytest.fixture
def django_entries():
    """The paths of the requests that entered Django (its handler sends request_started)."""
    entered = []

    def count(sender, **kwargs):
        entered.append(kwargs.get("environ", {}).get("PATH_INFO"))

    request_started.connect(count)
    yield entered
    request_started.disconnect(count)


class Answer(SimpleNamespace):
    status: int
    headers: dict[str, str]
    body: bytes


def wsgi_environ(address: str, *, cookie: str | None, htmx: bool = True, method: str = "GET",
                 extra: dict | None = None) -> dict:
    path, _, query = address.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        **(extra or {}),
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if htmx:
        environ["HTTP_HX_REQUEST"] = "true"
    return environ


def wsgi_get(address: str, *, cookie: str | None, htmx: bool = True, method: str = "GET",
             extra: dict | None = None) -> Answer:
    """One request through the production WSGI application, as gunicorn hands it over."""
    environ = wsgi_environ(address, cookie=cookie, htmx=htmx, method=method, extra=extra)
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=int(status[:3]), headers=headers)

    # The database connection is the test's transaction: kept open, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(status=started["status"], body=body,
                  headers={name.lower(): value for name, value in started["headers"]
                           if name.lower() != "set-cookie"},
                  cookies=[value for name, value in started["headers"]
                           if name.lower() == "set-cookie"])


def poll_url(element) -> str:
    values = json.loads(element.get("hx-vals") or "{}")
    return element["hx-get"] + (f"&{urlencode(values)}" if values else "")


def cookie_of(client) -> str:
    return f"sessionid={client.cookies['sessionid'].value}"


def requests_counted(view: str, status: int) -> float:
    return REGISTRY.get_sample_value(
        "dashboard_requests_total", {"view": view, "method": "GET", "status": str(status)}) or 0


@pytest.fixture
def viewer(emulator, client, user_factory, clock, django_entries):
    """A support user's session and the panel poll of a running action (answered 204 by
    Django once, so the next polls of it may be answered in front of it)."""
    user = user_factory(SUPPORT)
    client.force_login(user)
    created = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    page = client.get(f"/actions/{created['id']}/")
    url = poll_url(soup(page).select_one("#action-panel"))
    first = wsgi_get(url, cookie=cookie_of(client))
    assert first.status == 204  # the fingerprint the page carries is still the action's
    django_entries.clear()  # the page and that first poll
    return SimpleNamespace(client=client, user=user, url=url, cookie=cookie_of(client),
                           first=first, action=created)


def test_an_unchanged_poll_just_answered_by_django_is_answered_without_it(
    viewer, django_entries, emulator, django_assert_num_queries
):
    emulator.clear_stats()
    with django_assert_num_queries(0):
        answers = [wsgi_get(viewer.url, cookie=viewer.cookie) for _ in range(5)]
    assert [answer.status for answer in answers] == [204] * 5
    assert django_entries == []
    assert emulator.count() == 0
    assert all(answer.body == b"" and answer.cookies == [] for answer in answers)


def test_djangos_request_finishes_once_the_server_has_sent_a_learned_answer(
        viewer, django_entries):
    """An answer the wrapper learns from Django is handed to the server with Django's
    response still open: its request_finished, and the work put off until the answer has
    gone (after_response.py: a page read's archive write), come when the server closes
    it after sending, not before the answer."""
    quick_polls.forget_everything()
    finished = []

    def note(sender, **kwargs):
        finished.append(True)

    request_finished.connect(note)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(wsgi_environ(viewer.url, cookie=viewer.cookie),
                             lambda status, headers, exc_info=None: None)
        assert django_entries and not finished  # answered by Django, not yet sent
        b"".join(result)
        result.close()
        assert finished == [True]
    finally:
        request_finished.disconnect(note)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1  # learned: the next poll is answered in front of Django


def test_the_quick_answer_carries_djangos_headers_with_its_own_request_id(
    viewer, django_entries
):
    quick = wsgi_get(viewer.url, cookie=viewer.cookie,
                     extra={"HTTP_X_REQUEST_ID": "trace-from-the-proxy"})
    assert django_entries == []
    expected = {name: value for name, value in viewer.first.headers.items()
                if name != REQUEST_ID_HEADER.lower()}
    assert {"content-security-policy", "x-frame-options", "x-content-type-options",
            "referrer-policy", "vary"} <= set(expected)
    assert {name: value for name, value in quick.headers.items()
            if name != REQUEST_ID_HEADER.lower()} == expected
    assert quick.headers[REQUEST_ID_HEADER.lower()] == "trace-from-the-proxy"
    another = wsgi_get(viewer.url, cookie=viewer.cookie)
    assert another.headers[REQUEST_ID_HEADER.lower()] not in (
        viewer.first.headers[REQUEST_ID_HEADER.lower()], "trace-from-the-proxy")


def test_quick_answers_are_counted_in_the_request_metrics(viewer, django_entries):
    before = requests_counted("actions:detail", 204)
    for _ in range(3):
        wsgi_get(viewer.url, cookie=viewer.cookie)
    assert django_entries == []
    assert requests_counted("actions:detail", 204) == before + 3


@pytest.mark.parametrize("cookie", [None, "sessionid=not-a-session-anybody-has",
                                    "csrftoken=abc"])
def test_a_request_without_a_live_session_reaches_django_and_gets_its_401(
    viewer, django_entries, cookie
):
    answer = wsgi_get(viewer.url, cookie=cookie)
    assert answer.status == 401
    assert django_entries == [viewer.url.partition("?")[0]]


def test_a_logout_in_this_process_ends_the_quick_answers_at_once(viewer, django_entries):
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    viewer.client.logout()
    answer = wsgi_get(viewer.url, cookie=viewer.cookie)
    assert answer.status == 401
    assert len(django_entries) == 1


def test_a_role_taken_away_in_this_process_counts_at_once(viewer, django_entries):
    viewer.user.groups.clear()
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 403
    assert len(django_entries) == 1


def test_a_deactivated_account_counts_at_once(viewer, django_entries):
    viewer.user.is_active = False
    viewer.user.save()
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 401
    assert len(django_entries) == 1


def logged_in(user, *, renewed: bool) -> str:
    """Another browser's session cookie for `user`; `renewed`: its idle expiry was just moved
    forward (SessionIdleMiddleware), so no request of it is due to renew it."""
    browser = Client()
    browser.force_login(user)
    if renewed:
        session = browser.session
        session[SessionIdleMiddleware.KEY] = int(time.time())
        session.save()
    return cookie_of(browser)


def learned(viewer, django_entries) -> None:
    """A login forgets every answer (the user is saved): Django answers the viewer's poll
    again, so that the next polls of it may be answered in front of it."""
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1
    django_entries.clear()


def test_another_session_of_the_same_permissions_is_checked_as_django_would(
    viewer, django_entries, user_factory
):
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=True)
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie).status == 204
    assert django_entries == []


def test_a_session_due_for_renewal_reaches_django_which_renews_it(
    viewer, django_entries, user_factory
):
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=False)
    learned(viewer, django_entries)
    first = wsgi_get(viewer.url, cookie=cookie)
    assert first.status == 204 and first.cookies  # the renewed session's cookie
    assert wsgi_get(viewer.url, cookie=cookie).status == 204
    assert len(django_entries) == 1


def test_a_session_whose_hash_does_not_verify_is_left_to_django(
    viewer, django_entries, user_factory
):
    browser = Client()
    browser.force_login(user_factory(SUPPORT, "another-support-user"))
    session = browser.session
    session[SessionIdleMiddleware.KEY] = int(time.time())
    session[HASH_SESSION_KEY] = "not-the-password-hash"  # as after a password change
    session.save()
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie_of(browser)).status == 401
    assert len(django_entries) == 1


def ended_elsewhere(cookie: str) -> None:
    """The session ends in the store without this process hearing of it (another process's
    logout, or a flush nobody announced); this process's copy of its data lapses as
    POLL_MEMORY_SECONDS would."""
    key = cookie.partition("=")[2]
    SessionStore(key).delete()  # Django's own store: this process's forgetting is not called
    hot.forget([SessionStore.cache_key_prefix + key])


def fail_to_read(*args, **kwargs):
    raise ConnectionError("Redis is not answering")


def epoch_read_lapses() -> None:
    """What POLL_MEMORY_SECONDS does to this process's reading of the shared epoch."""
    hot.forget([quick_polls._EPOCH_READ])


def test_a_session_checked_in_front_of_django_is_remembered_past_the_answers_memory(
    viewer, django_entries, user_factory
):
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=True)
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie).status == 204  # checked: store and backend
    ended_elsewhere(cookie)
    epoch_read_lapses()  # read again: nobody moved it
    assert wsgi_get(viewer.url, cookie=cookie).status == 204  # not checked again
    assert django_entries == []


def test_a_logout_in_another_process_counts_once_the_shared_epoch_is_read(
    viewer, django_entries, user_factory
):
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=True)
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie).status == 204
    ended_elsewhere(cookie)
    cache.set(quick_polls._EPOCH, "moved by another process's logout", None)
    epoch_read_lapses()
    assert wsgi_get(viewer.url, cookie=cookie).status == 401
    assert django_entries == [viewer.url.partition("?")[0]]


def test_a_logout_here_moves_the_shared_epoch_for_the_other_processes(viewer):
    before = cache.get(quick_polls._EPOCH)
    viewer.client.logout()
    assert cache.get(quick_polls._EPOCH) not in (None, before)


def test_a_session_is_remembered_no_longer_than_until_its_renewal_is_due(
    viewer, django_entries, user_factory, settings, clock
):
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=True)
    settings.SESSION_TOUCH_SECONDS = 5  # due 5 s after that renewal
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie).status == 204
    clock[0] += 6  # the answer is still remembered, the session no longer
    ended_elsewhere(cookie)
    assert wsgi_get(viewer.url, cookie=cookie).status == 401
    assert len(django_entries) == 1


@pytest.mark.parametrize("how", ["the read fails", "redis is down"])
def test_while_the_epoch_cannot_be_read_a_session_is_remembered_as_briefly_as_answers(
    viewer, django_entries, user_factory, monkeypatch, settings, clock, how
):
    settings.POLL_MEMORY_SECONDS = 2  # shorter than SESSION_MEMORY_SECONDS
    if how == "the read fails":
        monkeypatch.setattr(cache, "get_or_set", fail_to_read)
    else:  # the cache answers from this process's memory, where no other logout lands
        monkeypatch.setattr(sharedcache, "degraded", lambda: True)
    epoch_read_lapses()
    cookie = logged_in(user_factory(SUPPORT, "another-support-user"), renewed=True)
    learned(viewer, django_entries)
    assert wsgi_get(viewer.url, cookie=cookie).status == 204
    ended_elsewhere(cookie)
    clock[0] += 3
    # The answer is learned again from the viewer's poll; the ended session's check is not
    # remembered past the answers' memory, so it is checked again and not let through.
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert wsgi_get(viewer.url, cookie=cookie).status == 401


def test_a_finished_actions_last_answer_is_repeated_in_front_of_django_with_its_286(
    viewer, django_entries, emulator, clock
):
    finish_action(emulator, viewer.action["id"], result={"message": "Imported.", "done_count": 3})
    clock[0] += MEMORY_SECONDS + 1  # what was remembered of it running lapses
    cache.clear()  # and what the shared cache held: the next read is the final one
    last = wsgi_get(viewer.url, cookie=viewer.cookie)
    assert last.status == 286 and b"Done" in last.body
    again = [wsgi_get(viewer.url, cookie=viewer.cookie) for _ in range(3)]
    assert [(a.status, a.body) for a in again] == [(286, last.body)] * 3
    assert len(django_entries) == 1


def test_a_changed_action_is_rendered_by_django_and_then_shared(viewer, django_entries):
    older = viewer.url.replace("v=", "v=0")  # what a panel showing an older state asks
    rendered = wsgi_get(older, cookie=viewer.cookie)
    assert rendered.status == 200
    assert django_entries == [older.partition("?")[0]]
    panel = soup(SimpleNamespace(content=rendered.body)).select_one("#action-panel")
    assert poll_url(panel) == viewer.url  # the new panel names what it shows now
    again = wsgi_get(older, cookie=viewer.cookie)  # another poll of that older panel
    assert (again.status, again.body) == (200, rendered.body)
    assert len(django_entries) == 1


def test_a_repeated_answer_times_its_early_poll_from_when_it_is_sent(
    viewer, django_entries, monkeypatch
):
    """The early poll just after the next refresh (polling/align.py) is timed for each
    answer, also for one repeated in front of Django: a viewer who gets it 2 s later polls
    at the same moment, not 2 s later."""
    monkeypatch.setattr(align, "AFTER_MS", (100, 100))
    align.note_refresh_due(time.time() + 10)
    older = viewer.url.replace("v=", "v=0")
    rendered = wsgi_get(older, cookie=viewer.cookie)
    monkeypatch.setattr(store, "now", lambda: time.time() + 2)
    again = wsgi_get(older, cookie=viewer.cookie)
    assert len(django_entries) == 1  # the second answer was repeated in front of Django

    first, second = (int(DELAY.search(answer.body).group(1)) for answer in (rendered, again))
    assert 9_000 < first <= 10_100 and first - second == pytest.approx(2_000, abs=300)
    assert len(again.body) == len(rendered.body)
    assert DELAY.sub(b"", again.body) == DELAY.sub(b"", rendered.body)


def test_while_the_next_refresh_is_due_polls_reach_django_which_makes_it(
    viewer, django_entries
):
    """A learned "unchanged" would answer the early polls sent just after the refresh's
    moment until its memory lapsed; from that moment until the refresh is stored (half a
    second at most) Django answers, and makes the refresh or waits for it."""
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert django_entries == []  # learned: answered in front of Django
    align.note_refresh_due(time.time() - 0.1)
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1
    align.note_refresh_due(time.time() - align.DUE_SECONDS - 0.1)  # put off: no storm
    wsgi_get(viewer.url, cookie=viewer.cookie)
    align.note_refresh_due(time.time() + 2)  # stored: the next one is 2 s away
    wsgi_get(viewer.url, cookie=viewer.cookie)
    assert len(django_entries) == 1


def test_a_poll_of_any_older_state_gets_the_newest_render_in_front_of_django(
    viewer, django_entries
):
    """Each viewer's panel shows the moment it last changed, so their polls carry many
    fingerprints: once Django rendered the newest for one, the element's other polls get
    that render too, and a poll of the newest state the 204."""
    rendered = wsgi_get(viewer.url.replace("v=", "v=0"), cookie=viewer.cookie)
    assert rendered.status == 200 and len(django_entries) == 1
    without = viewer.url.rsplit("&v=", 1)[0]  # a page's first poll names none
    assert without != viewer.url
    others = [wsgi_get(address, cookie=viewer.cookie)
              for address in (viewer.url.replace("v=", "v=1"), viewer.url.replace("v=", "v=2"),
                              without)]
    assert [(answer.status, answer.body) for answer in others] == [(200, rendered.body)] * 3
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1


def test_an_element_answer_is_only_for_the_same_element_and_permissions(
    viewer, django_entries, user_factory
):
    wsgi_get(viewer.url.replace("v=", "v=0"), cookie=viewer.cookie)
    operator = logged_in(user_factory("operator"), renewed=True)
    assert wsgi_get(viewer.url.replace("v=", "v=1"), cookie=operator).status == 200
    other_query = viewer.url.replace("v=", "v=1") + "&seen=DONE"
    assert wsgi_get(other_query, cookie=viewer.cookie).status == 200
    twice = viewer.url.replace("v=", "v=1") + "&v=2"  # which one Django reads is its to say
    assert wsgi_get(twice, cookie=viewer.cookie).status == 200
    assert len(django_entries) == 4


def test_after_the_memory_lapses_django_answers_again(viewer, django_entries, clock):
    clock[0] += MEMORY_SECONDS + 1
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1


def test_an_answer_learned_before_another_process_stored_a_newer_read_is_not_repeated(
    viewer, django_entries, clock
):
    """A 204 repeated after a refresh landed would show the older state until the next poll:
    another process's stored read counts within the epoch's short memory, long before the
    answers' memory lapses."""
    cache.set(store.READS_EPOCH_KEY, "another-process-read-the-newest-page", None)
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert django_entries == []  # within the moment this process goes on with the epoch it read
    clock[0] += store.READS_EPOCH_MEMORY_SECONDS + 0.01
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1  # Django answered, from the newest state
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1  # and that answer is repeated again


def test_a_newer_read_another_process_stored_is_answered_once_its_epoch_is_read(
    viewer, django_entries, clock, emulator
):
    """This process's own copy of the running action (hot.py) is older than the final read
    another process stored: once the moved epoch is read, Django answers from the shared
    cache (the 286), not from that copy, whose answer would be learned under the new epoch
    and repeated after the copy lapsed."""
    action_id = viewer.action["id"]
    finish_action(emulator, action_id, result={"message": "Imported.", "done_count": 3})
    final = Action.from_json(detail(emulator, action_id))
    cache.set(economy.final_key(action_id), store.read_now(final), None)
    cache.set(store.READS_EPOCH_KEY, "another-process-stored-the-final-read", None)
    clock[0] += store.READS_EPOCH_MEMORY_SECONDS + 0.01
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 286
    assert len(django_entries) == 1


def test_a_read_stored_in_this_process_ends_the_learned_answers_at_once(viewer, django_entries):
    store.moved_reads_epoch()  # what the polling layer does with every upstream read it stores
    assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 1


def test_the_permissions_decide_who_shares_an_answer(viewer, django_entries, user_factory):
    cookie = logged_in(user_factory("operator"), renewed=True)
    older = viewer.url.replace("v=", "v=0")
    assert wsgi_get(older, cookie=viewer.cookie).status == 200
    django_entries.clear()
    wsgi_get(older, cookie=viewer.cookie)  # the support user's own answer, in front of Django
    assert django_entries == []
    wsgi_get(older, cookie=cookie)  # the support user's answer is not the operator's
    assert len(django_entries) == 1


@pytest.mark.parametrize("how", ["page", "back", "post", "other-host"])
def test_what_is_not_the_same_htmx_poll_reaches_django(viewer, django_entries, how):
    if how in ("page", "back"):  # Back to a pushed address: htmx asks with HX-Request too
        answer = wsgi_get(viewer.url, cookie=viewer.cookie, htmx=how == "back",
                          extra={"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"} if how == "back"
                          else None)
        assert answer.status == 200 and b"<html" in answer.body
    elif how == "post":
        assert wsgi_get(viewer.url, cookie=viewer.cookie, method="POST").status in (403, 405)
    else:
        answer = wsgi_get(viewer.url, cookie=viewer.cookie, extra={"HTTP_HOST": "evil.example"})
        assert answer.status == 400
    assert len(django_entries) == 1


def test_the_list_live_poll_is_answered_in_front_of_django_too(
    emulator, support_client, clock, django_entries, settings
):
    settings.ACTIONS_DETAILS_PER_POLL = 0  # no finished rows' results to read: the rows' poll
    emulator.create_action("VOUCHERS.IMPORT", duration=600)
    page = support_client.get("/actions/")
    url = poll_url(soup(page).select_one("#live-poller"))
    django_entries.clear()
    statuses = [wsgi_get(url, cookie=cookie_of(support_client)).status for _ in range(4)]
    assert statuses[0] in (200, 204) and len(set(statuses)) == 1  # the page's poller: shared
    assert django_entries == ["/actions/live/"]


def test_no_memory_no_quick_answers(viewer, django_entries, settings):
    settings.POLL_MEMORY_SECONDS = 0
    for _ in range(3):
        assert wsgi_get(viewer.url, cookie=viewer.cookie).status == 204
    assert len(django_entries) == 3

