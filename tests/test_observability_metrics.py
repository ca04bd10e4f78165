"""/metrics: off without a token, 401 without the right one, and counters that move."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

LIST = "/actions/"
TOKEN = "metrics-test-token-5521"


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def total(samples, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and labels.items() <= dict(sample_labels).items()
    )


def test_metrics_are_off_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = None
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuse_a_missing_or_wrong_token(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"dashboard_" not in response.content


@pytest.mark.django_db
def test_counters_move_with_real_requests(emulator, operator_client, settings):
    settings.METRICS_TOKEN = TOKEN
    # The poll comes within one poll interval of the page's call however long that page takes
    # on a busy machine (at 2 s, a slow page let the entry go stale: the poll was a miss).
    settings.ACTIONS_POLL_INTERVAL = 120
    before = scrape(operator_client)

    assert operator_client.get(LIST).status_code == 200
    assert operator_client.get(LIST, HTTP_HX_REQUEST="true").status_code == 200
    after = scrape(operator_client)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    upstream_calls = emulator.stats()["total"]
    assert upstream_calls >= 1
    assert moved("dashboard_upstream_calls_total") == upstream_calls
    assert moved("dashboard_upstream_calls_total", endpoint="/v1/async-actions", status="200") >= 1
    assert moved("dashboard_requests_total", view="actions:list", status="200") == 2
    assert moved("dashboard_request_seconds_count", view="actions:list") == 2
    assert moved("dashboard_poll_requests_total", view="actions:list") == 1
    assert total(after, "dashboard_active_viewers") >= 1
    budget = total(after, "dashboard_upstream_budget_left")
    assert budget == settings.VOUCHERIFY_CALLS_PER_MINUTE - upstream_calls
    assert total(after, "dashboard_cache_misses_last_minute") >= 1
    assert total(after, "dashboard_cache_hits_last_minute") >= 1  # the poll was served cached
