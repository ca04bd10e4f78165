"""A running action's detail page is rendered once for every viewer of the same permissions
(dashboard/actions/shared_pages.py): each viewer still gets their own page (their role's
redactions, their name, their CSRF token), the data as a poll would show it, and polling
attributes that name what the page shows."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest
from django.test import Client

from dashboard.accounts.roles import AUDITOR, OPERATOR, SUPPORT
from dashboard.actions import shared_pages
from tests.fixtures.users import make_user
from tests.helpers.html import soup, text
from tests.helpers.upstream import detail, live_action

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}
EMAIL = "ada.secret@example.com"
FAILED_ROWS = {"failed": [{"code": "invalid_email", "row": 1,
                           "reason": f"{EMAIL} is not a valid e-mail"}]}
CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value="|name="csrf-token" content=")'
                        rb'[A-Za-z0-9]+"')


@pytest.fixture
def slow_polls(settings):
    """An interval long enough that nothing the cache holds turns stale during a test."""
    settings.ACTIONS_POLL_INTERVAL = 30
    settings.ACTIONS_MAX_POLL_INTERVAL = 60


@pytest.fixture
def running(emulator, slow_polls) -> str:
    """A running action whose partial result lists a failed row (personal data)."""
    return live_action(emulator, result=FAILED_ROWS)


@pytest.fixture
def viewer(django_user_model):
    def login(username: str, role: str, **client_options) -> Client:
        client = Client(**client_options)
        client.force_login(make_user(django_user_model, username, role))
        return client

    return login


def page_of(client: Client, action_id: str, **extra):
    response = client.get(f"/actions/{action_id}/", **extra)
    assert response.status_code == 200
    return response


def shared(response) -> bool:
    """Whether the page was the shared render (no template rendered for this request)."""
    return response.templates == []


def csrf_tokens(response) -> tuple[str, str]:
    """The meta tag's token (htmx sends it as X-CSRFToken) and the logout form's."""
    page = soup(response)
    return (page.select_one('meta[name="csrf-token"]')["content"],
            page.select_one('input[name="csrfmiddlewaretoken"]')["value"])


def without_csrf_tokens(content: bytes) -> bytes:
    return CSRF_VALUE.sub(rb"\1TOKEN", content)


def poll_url(response) -> str:
    element = soup(response).select_one("#action-panel")
    values = json.loads(element.get("hx-vals") or "{}")
    return element["hx-get"] + (f"&{urlencode(values)}" if values else "")


def test_viewers_of_other_roles_each_get_their_own_page(running, viewer):
    support = page_of(viewer("first-support", SUPPORT), running)
    assert not shared(support) and EMAIL.encode() in support.content

    operator = page_of(viewer("an-operator", OPERATOR), running)  # after support's render
    assert not shared(operator)
    assert EMAIL.encode() not in operator.content
    assert b"hidden: failed rows need the support role" in operator.content
    assert text(operator, ".username") == "an-operator"

    other_support = page_of(viewer("second-support", SUPPORT), running)
    assert shared(other_support)
    assert EMAIL.encode() in other_support.content
    assert text(other_support, ".username") == "second-support"
    assert b"first-support" not in other_support.content

    other_operator = page_of(viewer("second-operator", OPERATOR), running)
    assert shared(other_operator)
    assert EMAIL.encode() not in other_operator.content
    assert b"an-operator" not in other_operator.content

    auditor = page_of(viewer("an-auditor", AUDITOR), running)  # a navigation of its own
    assert not shared(auditor)
    assert soup(auditor).select_one('a[href="/status/"]') is not None
    assert soup(other_support).select_one('a[href="/status/"]') is None


@pytest.mark.parametrize("role", [OPERATOR, SUPPORT, AUDITOR, "admin"])
def test_a_shared_page_is_the_page_rendered_for_the_viewer_alone(
    running, viewer, role, monkeypatch
):
    page_of(viewer("first", role), running)  # the shared render, made for someone else
    client = viewer("second", role)
    served = page_of(client, running)
    assert shared(served)
    monkeypatch.setattr(shared_pages, "can_share", lambda request: False)
    alone = page_of(client, running)
    assert not shared(alone)
    assert without_csrf_tokens(served.content) == without_csrf_tokens(alone.content)
    user = alone.wsgi_request.user
    assert f'data-person="{user.pk}"'.encode() in served.content


def test_the_csrf_token_in_a_shared_page_is_the_requesters_and_a_post_with_it_works(
    running, viewer
):
    first = viewer("first-operator", OPERATOR, enforce_csrf_checks=True)
    first_meta, first_form = csrf_tokens(page_of(first, running))
    second = viewer("second-operator", OPERATOR, enforce_csrf_checks=True)
    page = page_of(second, running)
    assert shared(page)
    assert "csrftoken" in page.cookies  # the token's secret, for this browser
    meta, form = csrf_tokens(page)
    assert {meta, form}.isdisjoint({first_meta, first_form})
    assert all(re.fullmatch(r"[A-Za-z0-9]{64}", token) for token in (meta, form))

    refused = second.post("/accounts/logout/", {"csrfmiddlewaretoken": first_form})
    assert refused.status_code == 403  # another viewer's token is not this browser's
    saved = second.post("/actions/saved-views/", {"name": "mine", "query": "status=DONE"},
                        HTTP_X_CSRFTOKEN=meta)  # as htmx sends the meta tag's token
    assert saved.status_code == 302
    logged_out = second.post("/accounts/logout/", {"csrfmiddlewaretoken": form})
    assert logged_out.status_code == 302
    assert second.get(f"/actions/{running}/").status_code == 302  # to the login page


def test_a_page_after_the_data_changed_shows_the_change(emulator, viewer, clock, settings):
    settings.ACTIONS_POLL_INTERVAL = 2
    action_id = live_action(emulator)  # 40 %
    first = viewer("first-operator", OPERATOR)
    before = page_of(first, action_id)
    assert text(before, ".detail-state .progress-text") == "40%"
    second = viewer("second-operator", OPERATOR)
    assert shared(page_of(second, action_id))

    emulator.insert_action({**detail(emulator, action_id), "progress": 75})
    clock.advance(3)  # the cache's entry is no longer fresh: the next read asks upstream
    after = page_of(second, action_id)
    assert not shared(after)  # new data, a new render
    assert text(after, ".detail-state .progress-text") == "75%"
    assert poll_url(after) != poll_url(before)
    again = page_of(first, action_id)
    assert shared(again) and text(again, ".detail-state .progress-text") == "75%"


def test_the_polling_attributes_of_a_shared_page_name_what_it_shows(running, viewer):
    page_of(viewer("first-operator", OPERATOR), running)
    client = viewer("second-operator", OPERATOR)
    page = page_of(client, running)
    assert shared(page)
    panel = soup(page).select_one("#action-panel")
    assert panel["hx-get"] == f"/actions/{running}/?seen=IN_PROGRESS"
    assert panel["hx-trigger"].startswith("every 30s, poll-resume, load delay:")
    unchanged = client.get(poll_url(page), **HTMX)
    assert unchanged.status_code == 204  # the version the page carries is what a poll has


def test_the_query_of_the_address_is_part_of_what_is_shared(running, viewer):
    page_of(viewer("first-support", SUPPORT), running)
    client = viewer("second-support", SUPPORT)
    filtered = page_of(client, running, data={"reason": "nothing like it"})
    assert not shared(filtered)
    assert soup(filtered).select_one("#action-panel")["hx-get"] == (
        f"/actions/{running}/?reason=nothing+like+it&seen=IN_PROGRESS")


def test_a_viewer_with_messages_waiting_gets_a_page_of_their_own(running, viewer):
    page_of(viewer("first-operator", OPERATOR), running)
    client = viewer("second-operator", OPERATOR)
    client.cookies["messages"] = CookieStorage(HttpRequest())._encode(
        [Message(constants.SUCCESS, "Saved the view “mine”.")])
    page = page_of(client, running)
    assert not shared(page)
    assert text(page, ".messages") == "Saved the view “mine”."
    assert shared(page_of(viewer("third-operator", OPERATOR), running))


def test_a_repeated_page_load_runs_only_its_own_queries(
    running, viewer, django_assert_num_queries
):
    first = viewer("first-operator", OPERATOR)
    page_of(first, running)
    second = viewer("second-operator", OPERATOR)
    page_of(second, running)  # this browser's first request reads its session and user
    with django_assert_num_queries(0):
        again = page_of(second, running)
    assert shared(again)


def test_a_finished_action_is_not_shared(emulator, viewer, slow_polls):
    action_id = live_action(emulator, status="DONE", result={"done_count": 3})
    page_of(viewer("first-operator", OPERATOR), action_id)
    assert not shared(page_of(viewer("second-operator", OPERATOR), action_id))
