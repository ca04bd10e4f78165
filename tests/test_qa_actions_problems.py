"""Upstream trouble names its source: Voucherify's words only when Voucherify said them."""

from __future__ import annotations

import pytest

from tests.list_html import soup, text


def problem_kind(response) -> str:
    found = soup(response).select_one(".upstream-problem")
    return found.get("data-problem", "") if found is not None else ""


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
    assert problem_kind(response) == "held-back"
    notice = text(response, ".upstream-problem")
    assert "holding back" in notice and "will ask again after" in notice
    assert "request limit for this project is reached" not in notice
    assert "Voucherify said" not in notice
    assert emulator.stats()["total"] == 1
