"""Injected faults, request statistics, reset, and the loopback-only control API."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error

import pytest

from dashboard.emulator.app import Emulator, Request
from dashboard.emulator.control import ControlError
from dashboard.emulator.control_api import is_loopback
from dashboard.emulator.limits import RateLimiter

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"


def newest_id(emulator) -> str:
    return emulator.api(f"{LIST}?limit=1").json()["async_actions"][0]["id"]


def test_next_statuses_fail_exactly_the_next_requests(emulator):
    emulator.set_faults(next_statuses=[503, 502, 500])
    statuses = [emulator.api(LIST).status for _ in range(4)]
    assert statuses == [503, 502, 500, 200]
    body = emulator.api(LIST).json()
    assert body["object"] == "list"
    assert emulator.count(endpoint=LIST, status=503) == 1
    assert emulator.count(endpoint=LIST, status=200) == 2


def test_injected_errors_have_voucherify_bodies_and_rate_headers(emulator):
    emulator.set_faults(next_statuses=[503])
    response = emulator.api(LIST)
    body = response.json()
    assert (body["code"], body["key"]) == (503, "service_unavailable")
    assert body["request_id"].startswith("v-")
    assert "X-Rate-Limit-Remaining" in response.headers


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_error_rate_one_fails_every_request_with_the_chosen_status(emulator, status):
    emulator.set_faults(error_rate=1.0, error_status=status)
    assert {emulator.api(LIST).status for _ in range(3)} == {status}


def test_error_rate_share_is_deterministic_and_partial(emulator):
    emulator.set_faults(error_rate=0.5)
    statuses = [emulator.api(LIST).status for _ in range(40)]
    assert 5 < statuses.count(503) < 35
    assert set(statuses) == {200, 503}


def test_force_429_answers_with_retry_after(emulator):
    emulator.set_faults(force_429=True, retry_after=7)
    response = emulator.api(LIST)
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["X-Rate-Limit-Type"] == "requests_per_minute"
    assert response.json()["key"] == "too_many_requests"


def test_malformed_json_is_a_200_that_does_not_parse(emulator):
    emulator.set_faults(malformed_json=True)
    response = emulator.api(LIST)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_wrong_shape_is_valid_json_of_another_shape(emulator):
    detail = f"{LIST}/{newest_id(emulator)}"
    emulator.set_faults(wrong_shape=True)
    for path in (LIST, detail):
        body = emulator.api(path).json()
        assert not isinstance(body.get("async_actions"), list)
        assert "status" not in body


def test_spoiled_bodies_leave_errors_alone(emulator):
    emulator.set_faults(malformed_json=True)
    assert emulator.api(LIST, headers={}).json()["code"] == 401


def test_drop_connection_closes_without_an_answer(emulator):
    emulator.set_faults(drop_connection=True)
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        emulator.api(LIST)
    assert emulator.count(endpoint=LIST, status=0) == 1
    emulator.clear_faults()
    assert emulator.api(LIST).status == 200


def test_next_status_zero_drops_once(emulator):
    emulator.set_faults(next_statuses=[0])
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        emulator.api(LIST)
    assert emulator.api(LIST).status == 200


def test_latency_delays_the_answer(emulator):
    emulator.set_faults(latency_ms=300)
    started = time.monotonic()
    assert emulator.api(LIST).status == 200
    assert time.monotonic() - started >= 0.29


def test_endpoint_filter_limits_faults_to_those_routes(emulator):
    action_id = newest_id(emulator)
    emulator.set_faults(error_rate=1.0, endpoints=[DETAIL])
    assert emulator.api(LIST).status == 200
    assert emulator.api(f"{LIST}/{action_id}").status == 503
    assert emulator.api("/v1/oauth/token", method="POST",
                        form={"grant_type": "client_credentials", "scope": "api"}).status == 200


def test_faults_spare_the_control_api(emulator):
    emulator.set_faults(error_rate=1.0, drop_connection=True)
    assert emulator.stats()["total"] == 0
    assert emulator.clear_faults()["drop_connection"] is False


@pytest.mark.parametrize("faults", [{"error_rate": 2}, {"nonsense": True},
                                    {"next_statuses": [503, "x"]}, {"force_429": "yes"},
                                    {"endpoints": "/v1/async-actions"}])
def test_bad_fault_settings_are_refused(emulator, faults):
    with pytest.raises(ControlError, match="400"):
        emulator.set_faults(**faults)


def test_stats_rows_and_timeline(emulator):
    action_id = newest_id(emulator)
    emulator.api(f"{LIST}/{action_id}")
    emulator.api(f"{LIST}/{action_id}")
    emulator.api(f"{LIST}/aa_unknown")
    emulator.api(LIST, headers={})
    stats = emulator.stats()
    assert stats["total"] == 5
    assert {"method": "GET", "endpoint": DETAIL, "status": 200, "count": 2} in stats["requests"]
    assert {"method": "GET", "endpoint": DETAIL, "status": 404, "count": 1} in stats["requests"]
    assert {"method": "GET", "endpoint": LIST, "status": 401, "count": 1} in stats["requests"]
    assert len(stats["timeline"]) == 5
    when, method, endpoint, status = stats["timeline"][-1]
    assert (method, endpoint, status) == ("GET", LIST, 401)
    assert abs(when - time.time()) < 60
    assert emulator.count(method="GET", endpoint=DETAIL) == 3
    emulator.clear_stats()
    assert emulator.stats() == {"total": 0, "requests": [], "timeline": []}


def test_control_calls_are_not_counted(emulator):
    emulator.stats()
    emulator.create_action("CUSTOMERS.IMPORT_CSV")
    emulator.configure(rate_limit=6000)
    assert emulator.count() == 0


def test_reset_restores_the_seeded_state(emulator):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=0)
    assert emulator.api(f"{LIST}/{created['id']}").status == 200
    emulator.set_faults(next_statuses=[503, 503])
    emulator.configure(rate_limit=50, token_ttl=5)
    emulator.reset()
    assert emulator.api(f"{LIST}/{created['id']}").status == 404
    assert emulator.api(LIST).status == 200
    assert emulator.count() == 2
    assert emulator.configure() == {"rate_limit": 6000, "token_ttl": 900, "live_every": 0}


def test_reset_can_change_settings(emulator):
    assert emulator.reset(rate_limit=10)["rate_limit"] == 10
    assert emulator.api(LIST).headers["X-Rate-Limit-Limit"] == "10"
    with pytest.raises(ControlError, match="400"):
        emulator.reset(rate_limit=0)
    with pytest.raises(ControlError, match="400"):
        emulator.configure(colour=3)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_hosts_may_use_the_control_api(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.20", "::ffff:10.0.0.1", "2001:db8::1",
                                  "0.0.0.0", "localhost", ""])
def test_other_hosts_may_not(host):
    assert not is_loopback(host)


def test_control_api_refuses_remote_clients():
    emulator = Emulator("id", "token", live_every=0)
    response = emulator.handle(Request("POST", "/_emulator/reset", client="10.1.2.3"))
    assert response.status == 403
    assert json.loads(response.body)["key"] == "forbidden"
    local = emulator.handle(Request("POST", "/_emulator/reset", client="127.0.0.1"))
    assert local.status == 200


def test_rate_limit_window_resets_after_a_minute():
    limiter = RateLimiter(2)
    assert [limiter.hit(1000.0)[0] for _ in range(3)] == [True, True, False]
    allowed, headers = limiter.hit(1030.0)
    assert not allowed and headers["Retry-After"] == "30"
    assert headers["X-Rate-Limit-Retry"] == "1060"
    allowed, headers = limiter.hit(1060.0)
    assert allowed and headers["X-Rate-Limit-Remaining"] == "1"
