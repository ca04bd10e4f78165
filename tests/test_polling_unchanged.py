"""A poll whose answer would not change: 204 without rendering and without a database query;
a changed one still renders (and its poller's interval and 286 follow the server)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from dashboard.accounts.roles import OPERATOR, SUPPORT
from tests.fixtures.users import make_user
from tests.helpers.html import oob_rows, soup

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
    assert element["hx-swap"] == "outerHTML" and element["hx-trigger"] == "every 30s, poll-resume"
    assert poll_url(element) == url  # the new panel names what it shows now


def test_a_new_interval_is_a_change(emulator, support_client, slow_polls, settings):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    url = poll_url(panel(support_client.get(f"/actions/{created['id']}/")))
    settings.ACTIONS_POLL_INTERVAL = 45  # the server slows its clients down
    response = support_client.get(url, **HTMX)
    assert response.status_code == 200
    assert panel(response)["hx-trigger"] == "every 45s, poll-resume"


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
    assert shared.content == rendered.content

    operator = Client()
    operator.force_login(make_user(django_user_model, "an-operator", OPERATOR))
    own = operator.get(url, **HTMX)
    assert own.status_code == 200 and own.templates
