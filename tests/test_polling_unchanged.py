"""A poll whose answer would not change: 204 without rendering and without a database query;
a changed one still renders (and its poller's interval and 286 follow the server)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from dashboard.accounts.roles import OPERATOR, SUPPORT
from dashboard.polling import store
from tests.fixtures.users import make_user
from tests.helpers.html import oob_rows, soup, untimed
from tests.helpers.upstream import finish_action, live_action

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}
LIST = "/v1/async-actions"


def poll_url(element) -> str:
    """The address htmx asks: hx-get with the hx-vals added to its query."""
    values = json.loads(element.get("hx-vals") or "{}")
    return element["hx-get"] + (f"&{urlencode(values)}" if values else "")


def panel(response):
    return soup(response).select_one("#action-panel")


def live_poller(response):
    return soup(response).select_one("#live-poller")


@pytest.fixture
def slow_polls(settings):
    """An interval long enough that nothing the cache holds turns stale during a test."""
    settings.ACTIONS_POLL_INTERVAL = 30
    settings.ACTIONS_MAX_POLL_INTERVAL = 60


def test_unchanged_panel_poll_answers_204_with_no_query(
    emulator, support_client, slow_polls, django_assert_num_queries
):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    page = support_client.get(f"/actions/{created['id']}/")
    url = poll_url(panel(page))
    assert "v=" in url
    support_client.get(url, **HTMX)  # warm: this process's first poll
    emulator.clear_stats()
    with django_assert_num_queries(0):
        response = support_client.get(url, **HTMX)
    assert response.status_code == 204
    assert response.content == b""
    assert emulator.count() == 0


def test_changed_panel_poll_renders_with_a_new_version(emulator, support_client, slow_polls):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    url = poll_url(panel(support_client.get(f"/actions/{created['id']}/")))
    shown = url.replace("v=", "v=0")  # what an older panel showed
    response = support_client.get(shown, **HTMX)
    assert response.status_code == 200
    element = panel(response)
    assert element["hx-swap"] == "outerHTML"
    assert element["hx-trigger"].startswith("every 30s, poll-resume, load delay:")
    assert poll_url(element) == url  # the new panel names what it shows now


def test_a_new_interval_is_a_change(emulator, support_client, slow_polls, settings):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    url = poll_url(panel(support_client.get(f"/actions/{created['id']}/")))
    settings.ACTIONS_POLL_INTERVAL = 45  # the server slows its clients down
    response = support_client.get(url, **HTMX)
    assert response.status_code == 200
    assert panel(response)["hx-trigger"].startswith("every 45s, poll-resume, load delay:")


def test_a_finished_action_ends_polling_with_286_whatever_the_version(
    emulator, support_client, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    created = emulator.create_action("VOUCHERS.IMPORT", duration=0.5)
    url = poll_url(panel(support_client.get(f"/actions/{created['id']}/")))
    deadline = time.monotonic() + 20
    response = support_client.get(url, **HTMX)
    while response.status_code in (200, 204) and time.monotonic() < deadline:
        time.sleep(0.2)
        response = support_client.get(url, **HTMX)
    assert response.status_code == 286
    assert panel(response).select_one(".detail-state .status").get_text(strip=True) == "Done"
    assert not panel(response).has_attr("hx-vals")  # a finished action is never "unchanged"


def test_a_row_that_finished_is_a_change(emulator, operator_client, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2
    running = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    finishing = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=0.5)
    url = poll_url(live_poller(operator_client.get("/actions/")))
    time.sleep(1.0)
    response = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    rows = {tr["id"]: tr for tr in oob_rows(response)}
    assert rows[f"row-{finishing['id']}"]["data-status"] == "DONE"
    # The next poll names only the row still running (other ids in the URL are results still
    # to read for the failed-row counts, or the newest row for the "new actions" banner).
    query = parse_qs(urlsplit(live_poller(response)["hx-get"]).query)
    assert query["ids"] == [running["id"]]



def test_a_row_that_finished_is_rendered_once_for_every_viewer(
    emulator, operator_client, django_user_model, slow_polls, settings
):
    """The list's poll after a row finished (and while its result is still to be read) is
    the same for every viewer of the same permissions and page: rendered once."""
    settings.ACTIONS_DETAILS_PER_POLL = 0  # no other row's result read between the two polls
    emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    finishing = live_action(emulator)
    url = poll_url(live_poller(operator_client.get("/actions/")))
    finish_action(emulator, finishing, result={"message": "Imported.", "done_count": 2})
    cache.clear()  # what was known of the rows: the next poll reads the finished one
    first = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert first.status_code == 200 and first.templates
    rows = {tr["id"]: tr for tr in oob_rows(first)}
    assert rows[f"row-{finishing}"]["data-status"] == "DONE"

    second = Client()
    second.force_login(make_user(django_user_model, "second-operator", OPERATOR))
    shared = second.get(url, HTTP_HX_REQUEST="true")
    assert (shared.status_code, shared.templates) == (200, [])
    assert untimed(shared) == untimed(first)


def test_a_change_is_rendered_once_for_every_viewer(
    emulator, support_client, django_user_model, slow_polls
):
    """Viewers polling the same running action after the same change share one render;
    a viewer with other permissions gets a render of their own."""
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    url = poll_url(panel(support_client.get(f"/actions/{created['id']}/"))).replace("v=", "v=0")
    rendered = support_client.get(url, **HTMX)
    assert rendered.status_code == 200 and rendered.templates

    second = Client()
    second.force_login(make_user(django_user_model, "second-support", SUPPORT))
    shared = second.get(url, **HTMX)
    assert shared.status_code == 200
    assert shared.templates == []  # nothing rendered: the answer made for the first is served
    assert untimed(shared) == untimed(rendered)

    operator = Client()
    operator.force_login(make_user(django_user_model, "an-operator", OPERATOR))
    own = operator.get(url, **HTMX)
    assert own.status_code == 200 and own.templates


def test_a_finished_actions_last_answer_is_rendered_once_for_every_viewer(
    emulator, support_client, django_user_model, slow_polls
):
    """The 286 that ends a finished action's polling is the same for every viewer of the same
    permissions, so it is rendered once; other permissions get a render of their own."""
    action_id = live_action(emulator)
    url = poll_url(panel(support_client.get(f"/actions/{action_id}/")))
    finish_action(emulator, action_id, result={"message": "Imported 7 vouchers.",
                                                "done_count": 7})
    cache.clear()  # what was known of it running: the next read is the final one
    last = support_client.get(url, **HTMX)
    assert last.status_code == 286 and last.templates
    assert "Imported 7 vouchers." in panel(last).get_text()

    second = Client()
    second.force_login(make_user(django_user_model, "second-support", SUPPORT))
    shared = second.get(url, **HTMX)
    assert (shared.status_code, shared.templates) == (286, [])
    assert untimed(shared) == untimed(last)

    operator = Client()
    operator.force_login(make_user(django_user_model, "an-operator", OPERATOR))
    own = operator.get(url, **HTMX)
    assert own.status_code == 286 and own.templates


@pytest.fixture
def live_rows_only(settings):
    """The list's poll reads no finished rows' results (a poll that still has some to read
    always renders: test_list_failures.py)."""
    settings.ACTIONS_DETAILS_PER_POLL = 0


def _versioned_live_url(client) -> str:
    """The live poll's address once an answer named what it shows (the page's first poll
    carries no version: the page itself is not a poll's answer)."""
    first = client.get(poll_url(live_poller(client.get("/actions/"))), HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    element = live_poller(first)
    assert element.has_attr("hx-vals")
    return poll_url(element)


def test_unchanged_live_poll_answers_204_with_no_query_and_no_call(
    emulator, operator_client, slow_polls, live_rows_only, django_assert_num_queries
):
    for _ in range(3):
        emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    url = _versioned_live_url(operator_client)
    emulator.clear_stats()
    with django_assert_num_queries(0):
        response = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response.content == b""
    assert emulator.count() == 0


def test_live_poll_renders_the_whole_answer_once_a_row_changed(
    emulator, operator_client, slow_polls, live_rows_only
):
    running = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    finishing = emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=1)
    url = _versioned_live_url(operator_client)
    assert operator_client.get(url, HTTP_HX_REQUEST="true").status_code == 204
    time.sleep(1.5)  # the second action finishes upstream
    cache.clear()  # what the dashboard knew is gone: the next poll reads upstream again
    response = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    rows = {tr["id"]: tr for tr in oob_rows(response)}
    assert rows[f"row-{finishing['id']}"]["data-status"] == "DONE"
    assert rows[f"row-{running['id']}"]["data-status"] in ("ENQUEUED", "IN_PROGRESS")
    # The next poll asks about the running row alone: answered in full once, naming what it
    # shows, then unchanged.
    following = operator_client.get(poll_url(live_poller(response)), HTTP_HX_REQUEST="true")
    assert following.status_code == 200
    assert live_poller(following).has_attr("hx-vals")
    url = poll_url(live_poller(following))
    assert operator_client.get(url, HTTP_HX_REQUEST="true").status_code == 204


def test_a_live_change_is_rendered_once_for_every_viewer(
    emulator, operator_client, django_user_model, slow_polls, live_rows_only
):
    for _ in range(2):
        emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    url = poll_url(live_poller(operator_client.get("/actions/")))
    rendered = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert rendered.status_code == 200 and rendered.templates
    other = Client()
    other.force_login(make_user(django_user_model, "second-operator", OPERATOR))
    shared = other.get(url, HTTP_HX_REQUEST="true")
    assert shared.status_code == 200
    assert shared.templates == []  # the answer made for the first viewer is served
    assert untimed(shared) == untimed(rendered)


def test_an_unchanged_live_poll_is_still_refused_without_a_login(
    emulator, operator_client, slow_polls, live_rows_only
):
    emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=300)
    url = _versioned_live_url(operator_client)
    operator_client.logout()
    response = operator_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/login/")



def test_a_stale_panel_is_rendered_once_a_second_for_its_viewers(
    emulator, support_client, django_user_model, slow_polls, monkeypatch
):
    """A finished action whose result cannot be read yet (here: the upstream fails) keeps
    polling with a stale notice; its viewers of the same permissions share one render of it
    for the second the notice tells its age at, rather than each getting their own."""
    action_id = live_action(emulator)
    url = poll_url(panel(support_client.get(f"/actions/{action_id}/")))
    finish_action(emulator, action_id, result={"done_count": 7})
    emulator.set_faults(error_rate=1.0, error_status=503, endpoints=["/v1/async-actions/{id}"])
    # An interval on, so the list is read again (it shows the action done), and the two
    # polls in one second.
    second = [int(time.time()) + 40.25]
    monkeypatch.setattr(store, "now", lambda: second[0])

    first = support_client.get(url, **HTMX)
    assert first.status_code == 200 and first.templates  # not 286: it polls on for the result
    assert "Done" in panel(first).get_text() and soup(first).select_one(".stale")
    other = Client()
    other.force_login(make_user(django_user_model, "second-support", SUPPORT))
    shared = other.get(url, **HTMX)
    assert (shared.status_code, shared.templates) == (200, [])
    assert untimed(shared) == untimed(first)

    second[0] += 1  # a second later its notice tells another age: rendered again, once
    later = other.get(url, **HTMX)
    assert later.status_code == 200 and later.templates
