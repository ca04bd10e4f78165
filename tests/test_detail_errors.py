"""Unknown and malformed ids, and upstream faults: a clear page, never a 500."""

from __future__ import annotations

import time

import pytest
from bs4 import BeautifulSoup

from tests.helpers.html import text_of

DETAIL_ENDPOINT = "/v1/async-actions/{id}"
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_unknown_id_is_a_404_page_with_a_sentence(emulator, support_client):
    response = support_client.get("/actions/aa_0d00000000000ffff1/")
    assert response.status_code == 404
    panel = BeautifulSoup(response.content, "html.parser").find(id="action-panel")
    assert "There is no async action with the id aa_0d00000000000ffff1" in text_of(panel)
    assert not panel.has_attr("hx-trigger")
    assert emulator.count(endpoint=DETAIL_ENDPOINT) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/actions/not-an-id/",
        "/actions/aa_/",
        "/actions/aa_0c55%3Fx=1/",  # an encoded ? must not become a query string upstream
        "/actions/aa_0c55%20/",
        "/actions/AA-0c5543f00797b6113f/",
        f"/actions/aa_{'0' * 70}/",
        "/actions/%2e%2e/",
    ],
)
def test_malformed_ids_never_reach_the_upstream(emulator, support_client, path):
    response = support_client.get(path)
    assert response.status_code == 404
    assert "That is not an async action id" in response.content.decode()
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/actions/aa_0c55%2F..%2F..%2Fv1%2Fasync-actions/",  # encoded ../ : no such route
        "/actions/aa_0c55/..%2F/failures.csv",
    ],
)
def test_encoded_traversal_never_reaches_another_endpoint(emulator, support_client, path):
    assert support_client.get(path).status_code == 404
    assert emulator.stats()["total"] == 0


def test_a_malformed_id_polled_by_htmx_stops_polling(emulator, support_client):
    response = support_client.get("/actions/nope/", **HTMX)
    assert response.status_code == 286
    assert emulator.stats()["total"] == 0


def test_upstream_down_with_nothing_known_is_a_clear_page(emulator, support_client):
    emulator.set_faults(error_rate=1.0, error_status=503)
    response = support_client.get("/actions/aa_0d00000000000ffff2/")
    assert response.status_code == 502
    problem = BeautifulSoup(response.content, "html.parser").select_one(".upstream-problem")
    assert "Injected fault" in text_of(problem) or "Voucherify" in text_of(problem)
    # An htmx poll gets a 200 (htmx swaps it) that keeps trying at the server's pace.
    polled = support_client.get("/actions/aa_0d00000000000ffff2/", **HTMX)
    assert polled.status_code == 200
    panel = BeautifulSoup(polled.content, "html.parser").find(id="action-panel")
    assert panel["hx-trigger"].endswith("s, poll-resume, load delay:99999ms")


def test_rejected_credentials_are_explained(emulator, support_client, settings):
    import dataclasses

    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="wrong-token")
    response = support_client.get("/actions/aa_0d00000000000ffff3/")
    assert response.status_code == 502
    assert "credentials" in response.content.decode() or "Voucherify" in response.content.decode()


def test_stale_panel_keeps_the_last_state_and_slows_down(emulator, support_client, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.5
    created = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    url = f"/actions/{created['id']}/?seen=ENQUEUED"
    first = support_client.get(url, **HTMX)
    assert first.status_code == 200
    emulator.set_faults(error_rate=1.0, error_status=500)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.3)
        response = support_client.get(url, **HTMX)
        panel = BeautifulSoup(response.content, "html.parser").find(id="action-panel")
        if panel.select_one(".stale"):
            break
    assert response.status_code == 200
    assert " ago" in text_of(panel.select_one(".stale"))  # says how old the state is
    assert "Enqueued" in text_of(panel.select_one(".status"))  # the last known state
    assert created["id"] in text_of(panel)
    interval = float(panel["hx-trigger"].removeprefix("every ").split("s,")[0])
    assert interval > 0.5  # the server asks for a slower pace while the upstream fails
