"""Read-only views answer GET and HEAD only; a 503 detail page says when to retry; and only a
refusal of the configured credentials makes /readyz call them rejected."""

from __future__ import annotations

import dataclasses
import time

import pytest

from dashboard.polling import budget
from dashboard.voucherify.errors import LONGEST_WAIT_SECONDS
from tests.helpers.upstream import insert_terminal

ACTION = "aa_0c000000000000e7e1"
READ_ONLY = [
    "/actions/", f"/actions/live/?ids={ACTION}", f"/actions/{ACTION}/",
    f"/actions/{ACTION}/failures/", f"/actions/{ACTION}/failures.csv", "/overview/",
    "/audit/purges/", "/audit/purges.csv", "/audit/exports/", "/status/", "/healthz",
    "/readyz", "/metrics",
]
UNSAFE = ["POST", "PUT", "DELETE", "PATCH", "TRACE"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", READ_ONLY)
def test_read_only_views_refuse_every_other_method(emulator, superuser_client, settings, path):
    settings.METRICS_TOKEN = "a-metrics-token"
    insert_terminal(emulator, ACTION)
    emulator.clear_stats()
    for method in UNSAFE:
        response = superuser_client.generic(method, path)
        assert response.status_code == 405, (method, path)
        assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert emulator.stats()["total"] == 0  # refused before anything is read
    assert superuser_client.head(path).status_code < 500


@pytest.mark.django_db
def test_a_detail_page_answering_503_says_when_to_retry(emulator, support_client):
    emulator.set_faults(force_429=True, retry_after=42)
    response = support_client.get("/actions/aa_0d00000000000ffff3/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) == 42


@pytest.mark.django_db
def test_a_dropped_connection_answers_the_detail_page_as_the_list_does(emulator, support_client):
    # One failure, one answer (dashboard/polling/problems.py): Voucherify unreachable is a 502
    # on every page; only a wait with a known end (429, the budget) is a 503 with Retry-After.
    emulator.set_faults(drop_connection=True)
    detail = support_client.get("/actions/aa_0d00000000000ffff3/")
    listing = support_client.get("/actions/")
    assert detail.status_code == listing.status_code == 502
    assert "Retry-After" not in detail and "Retry-After" not in listing


@pytest.mark.django_db
def test_a_token_endpoint_fault_does_not_mark_the_keys_rejected(emulator, support_client,
                                                                  settings):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, auth="oauth")
    insert_terminal(emulator, ACTION)
    insert_terminal(emulator, "aa_0c000000000000e7e2")
    assert support_client.get(f"/actions/{ACTION}/").status_code == 200
    assert support_client.get("/readyz").status_code == 200

    # The token the dashboard holds is revoked, and the token endpoint breaks.
    emulator.revoke_tokens()
    emulator.set_faults(error_rate=1.0, error_status=500, endpoints=["/v1/oauth/token"])
    emulator.clear_stats()
    assert support_client.get("/actions/aa_0c000000000000e7e2/").status_code == 502
    assert emulator.count(endpoint="/v1/async-actions/{id}", status=401) == 1
    assert emulator.count(endpoint="/v1/oauth/token", status=500) >= 1
    ready = support_client.get("/readyz")
    assert ready.status_code == 200
    assert "rejected" not in ready.json()["checks"]["upstream_credentials"]["detail"]


@pytest.mark.django_db
def test_the_token_endpoint_refusing_the_keys_marks_them_rejected(emulator, support_client,
                                                                   settings):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, auth="oauth",
                                              app_token="wrong-app-token")
    assert support_client.get(f"/actions/{ACTION}/").status_code == 502
    ready = support_client.get("/readyz")
    assert ready.status_code == 503
    assert "HTTP 401" in ready.json()["checks"]["upstream_credentials"]["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("retry_after", [10**11, 1e300])
def test_a_429_asking_for_years_holds_the_dashboard_back_an_hour_at_most(
    emulator, support_client, retry_after
):
    """A Retry-After nobody documented (a value in milliseconds, a date misread): the longest
    limit window NOTES.md names is an hour (the Sandbox's 100 requests an hour), so no page
    answers 500 and no call waits for years: after an hour the dashboard asks again."""
    emulator.set_faults(force_429=True, retry_after=retry_after)
    response = support_client.get("/actions/aa_0d00000000000ffff3/")
    assert response.status_code == 503
    assert 3590 <= int(response["Retry-After"]) <= LONGEST_WAIT_SECONDS
    held = budget.blocked_until() - time.time()
    assert 3590 <= held <= LONGEST_WAIT_SECONDS
