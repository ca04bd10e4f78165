"""Upstream trouble on the list page: a sentence for each state, the request id, never a 500."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.helpers.html import row_ids, soup, text

LIST = "/v1/async-actions"


def problem(response) -> str:
    found = soup(response).select_one(".upstream-problem")
    return found["data-problem"] if found is not None and found.has_attr("data-problem") else ""


def test_rejected_credentials_say_what_to_check(client_for, emulator, settings):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="wrong")
    response = client_for("admin").get("/actions/")
    assert response.status_code == 502
    assert problem(response) == "credentials"
    notice = text(response, ".upstream-problem")
    assert "VOUCHERIFY_APP_ID" in notice and "VOUCHERIFY_APP_TOKEN" in notice
    assert "VOUCHERIFY_CLUSTER" in notice
    assert "wrong" not in notice  # the token is never shown
    assert row_ids(response) == []
    # Operators and support read what happened and what they can do, not setting names.
    plain = client_for("operator").get("/actions/")
    assert plain.status_code == 502 and problem(plain) == "credentials"
    assert "VOUCHERIFY_" not in plain.content.decode()
    assert "administrator" in text(plain, ".upstream-problem")


def test_rate_limited_says_when_it_will_ask_again(operator_client, emulator):
    emulator.set_faults(force_429=True, retry_after=40)
    response = operator_client.get("/actions/")
    assert response.status_code == 503
    assert problem(response) == "rate-limited"
    assert "will ask again after" in text(response, ".upstream-problem")
    assert soup(response).select_one(".upstream-problem time")["datetime"].endswith("Z")
    assert 1 <= int(response["Retry-After"]) <= 40


@pytest.mark.parametrize(
    ("faults", "kind", "words"),
    [
        ({"next_statuses": [500]}, "upstream-error", "internal error (HTTP 500)"),
        ({"next_statuses": [503]}, "upstream-error", "internal error (HTTP 503)"),
        ({"drop_connection": True}, "unavailable", "could not be reached"),
        ({"malformed_json": True}, "invalid-response", "cannot read"),
        ({"wrong_shape": True}, "invalid-response", "cannot read"),
    ],
)
def test_upstream_faults_get_a_sentence_not_a_500(operator_client, emulator, faults, kind, words):
    emulator.set_faults(**faults)
    response = operator_client.get("/actions/?status=DONE")
    assert response.status_code == 502
    assert problem(response) == kind
    assert words in text(response, ".upstream-problem")


def test_the_upstream_request_id_is_shown(operator_client, emulator):
    emulator.set_faults(next_statuses=[500])
    response = operator_client.get("/actions/")
    request_id = text(response, ".upstream-problem .request-id code")
    assert request_id.startswith("v-")


def test_last_known_data_is_served_marked_stale_with_its_age(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.2  # the newest page is fresh for this long
    fresh = operator_client.get("/actions/")
    assert not soup(fresh).select(".stale")
    time.sleep(0.5)
    emulator.set_faults(drop_connection=True)
    response = operator_client.get("/actions/")
    assert response.status_code == 200
    assert row_ids(response) == row_ids(fresh)
    notice = text(response, ".stale")
    assert "Showing data last read" in notice and "ago" in notice
    assert "could not be reached" in notice


def test_a_fault_mid_scan_keeps_what_was_found_and_offers_to_go_on(
    operator_client, emulator, settings
):
    settings.ACTIONS_SCAN_BUDGET = 3
    emulator.set_faults(next_statuses=[200, 503])
    response = operator_client.get("/actions/?status=FAILED&limit=100")
    assert response.status_code == 200
    assert row_ids(response)
    assert problem(response) == "upstream-error"
    assert "partial" in text(response, ".scan-notice")
    assert soup(response).select_one(".scan-notice .continue-scan")


def test_an_empty_project_says_no_actions_yet(operator_client, emulator, emulator_server):
    store = emulator_server.emulator.store
    with store._lock:  # an empty project; the emulator fixture reseeds it for the next test
        store._actions.clear()
        store._keys.clear()
    response = operator_client.get("/actions/")
    assert response.status_code == 200
    assert "No async actions yet" in text(response, ".empty-project")
    assert not soup(response).select(".pager a")


def test_nothing_before_a_date_says_so(operator_client, emulator):
    response = operator_client.get("/actions/?end_date=2001-01-01T00:00:00.000Z")
    assert response.status_code == 200
    assert "No actions were created before 2001-01-01 00:00:00 UTC" in text(
        response, ".empty-page"
    )


@pytest.mark.parametrize("faults", [{"drop_connection": True}, {"malformed_json": True}])
def test_a_fault_without_an_answer_is_not_quoted_as_voucherify(operator_client, emulator, faults):
    emulator.set_faults(**faults)
    response = operator_client.get("/actions/")
    assert response.status_code == 502
    assert "Voucherify said" not in text(response, ".upstream-problem")


def test_an_error_answer_is_quoted_as_voucherify(operator_client, emulator):
    emulator.set_faults(next_statuses=[500])
    response = operator_client.get("/actions/")
    assert text(response, ".upstream-message").startswith("Voucherify said:")


def test_the_dashboards_own_budget_is_not_blamed_on_voucherify(operator_client, emulator, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    assert operator_client.get("/actions/").status_code == 200  # spends the one call
    response = operator_client.get("/actions/?end_date=2020-01-01T00:00:00.000Z")
    assert response.status_code == 503
    assert problem(response) == "held-back"
    notice = text(response, ".upstream-problem")
    assert "holding back" in notice and "will ask again after" in notice
    assert "request limit for this project is reached" not in notice
    assert "Voucherify said" not in notice
    assert emulator.stats()["total"] == 1
