"""Upstream faults become typed errors; retries happen where safe and are visible in the stats."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time

import pytest

from dashboard.voucherify import (
    AuthenticationError,
    BadRequestError,
    InvalidActionIdError,
    InvalidResponseError,
    NotFoundError,
    PlanLimitError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
    VoucherifyClient,
    VoucherifyConfig,
    VoucherifyError,
)

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"
TOKEN = "/v1/oauth/token"


def fast(config, **changes):
    """No real waiting between retries: the counts matter here, not the backoff."""
    return dataclasses.replace(config, backoff_factor=0.0, backoff_max=0.0, **changes)


@pytest.fixture
def client(emulator):
    return VoucherifyClient(fast(emulator.config))


def test_a_503_then_success_is_retried_once(client, emulator):
    emulator.set_faults(next_statuses=[503])
    page = client.list_actions(limit=5)
    assert len(page.actions) == 5
    assert emulator.count(endpoint=LIST, status=503) == 1
    assert emulator.count(endpoint=LIST) == 2


@pytest.mark.parametrize("statuses", [[502], [504], [502, 504]])
def test_gateway_faults_are_retried(client, emulator, statuses):
    emulator.set_faults(next_statuses=statuses)
    client.list_actions(limit=5)
    assert emulator.count(endpoint=LIST) == len(statuses) + 1


def test_persistent_5xx_is_an_upstream_error_after_the_configured_retries(client, emulator):
    emulator.set_faults(next_statuses=[503, 503, 503, 503])
    with pytest.raises(UpstreamError) as caught:
        client.list_actions(limit=5)
    assert caught.value.status == 503
    assert emulator.count(endpoint=LIST) == 1 + client.config.retries


def test_a_500_is_not_retried(client, emulator):
    emulator.set_faults(next_statuses=[500])
    with pytest.raises(UpstreamError):
        client.list_actions(limit=5)
    assert emulator.count(endpoint=LIST) == 1


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, BadRequestError), (401, AuthenticationError), (402, PlanLimitError),
     (404, NotFoundError), (409, BadRequestError)],
)
def test_4xx_map_to_their_class_and_are_never_retried(client, emulator, status, error_class):
    emulator.set_faults(next_statuses=[status])
    with pytest.raises(error_class) as caught:
        client.list_actions(limit=5)
    assert caught.value.status == status
    assert emulator.count(endpoint=LIST) == 1


def test_an_unknown_action_is_not_found_with_voucherifys_request_id(client, emulator):
    with pytest.raises(NotFoundError) as caught:
        client.get_action("aa_00000000000000000000")
    error = caught.value
    assert error.status == 404
    assert error.key
    if error.request_id:
        assert error.request_id in str(error)
    assert emulator.count(endpoint=DETAIL) == 1


def test_429_is_not_retried_and_says_when_to_try_again(client, emulator):
    emulator.set_faults(force_429=True, retry_after=12)
    with pytest.raises(RateLimitedError) as caught:
        client.list_actions(limit=5)
    error = caught.value
    assert error.status == 429
    assert error.retry_after == pytest.approx(12, abs=1)
    assert error.retry_at is not None
    assert "retry in 12 s" in str(error)
    assert emulator.count(endpoint=LIST) == 1


def test_the_real_rate_limit_is_a_rate_limited_error(emulator):
    emulator.reset(rate_limit=2)
    client = VoucherifyClient(fast(emulator.config))
    client.list_actions(limit=1)
    client.list_actions(limit=1)
    with pytest.raises(RateLimitedError) as caught:
        client.list_actions(limit=1)
    assert caught.value.retry_after > 0
    assert client.rate_limit.remaining == 0
    assert emulator.count(endpoint=LIST) == 3


def test_rate_limit_state_is_read_from_every_response(emulator):
    emulator.reset(rate_limit=50)
    client = VoucherifyClient(emulator.config)
    assert client.rate_limit is None
    client.list_actions(limit=1)
    first = client.rate_limit
    assert first.limit == 50
    assert first.remaining == 49
    client.list_actions(limit=1)
    assert client.rate_limit.remaining == 48
    assert client.rate_limit.observed_at >= first.observed_at


def test_dropped_connections_are_retried_then_unavailable(client, emulator):
    emulator.set_faults(drop_connection=True)
    with pytest.raises(UnavailableError) as caught:
        client.list_actions(limit=5)
    assert caught.value.status is None
    assert emulator.count(endpoint=LIST, status=0) == 1 + client.config.retries


def test_a_dropped_connection_then_success_is_retried(client, emulator):
    emulator.set_faults(next_statuses=[0])
    assert client.list_actions(limit=5).actions
    assert emulator.count(endpoint=LIST) == 2


def test_a_refused_connection_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = VoucherifyConfig(
        base_url=f"http://127.0.0.1:{port}", app_id="id", app_token="token", retries=1,
        backoff_factor=0.0,
    )
    with pytest.raises(UnavailableError, match="refused"):
        VoucherifyClient(config).list_actions(limit=5)


def test_a_slow_answer_times_out_as_unavailable(emulator):
    emulator.set_faults(latency_ms=1500)
    client = VoucherifyClient(fast(emulator.config, read_timeout=0.3, retries=0))
    with pytest.raises(UnavailableError, match="in time"):
        client.list_actions(limit=5)
    # The emulator counts the request once its delay is over; wait, so no later test sees it.
    deadline = time.monotonic() + 10
    while emulator.count(endpoint=LIST) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert emulator.count(endpoint=LIST) == 1


@pytest.mark.parametrize("fault", ["malformed_json", "wrong_shape"])
def test_bodies_that_are_not_json_or_not_a_list_are_invalid_responses(client, emulator, fault):
    emulator.set_faults(**{fault: True}, endpoints=[LIST])
    with pytest.raises(InvalidResponseError):
        client.list_actions(limit=5)
    assert emulator.count(endpoint=LIST) == 1


@pytest.mark.parametrize(
    "bad_id",
    ["../x", "aa_1?x", "aa_%2e%2e", "", "aa_", "aa_1/../../v1/oauth", "aa_" + "a" * 100,
     "aa_1 2", "aa_1#x"],
)
def test_invalid_ids_raise_before_any_request(client, emulator, bad_id):
    with pytest.raises(InvalidActionIdError) as caught:
        client.get_action(bad_id)
    assert isinstance(caught.value, ValueError)
    assert emulator.count() == 0


def test_every_error_is_a_voucherify_error_with_its_request_id_in_the_text(client, emulator):
    emulator.set_faults(next_statuses=[400])
    with pytest.raises(VoucherifyError) as caught:
        client.list_actions(limit=5)
    error = caught.value
    assert error.message
    if error.request_id:
        assert error.request_id in str(error)
    assert repr(error).startswith("BadRequestError(")


def test_each_exchange_reaches_the_response_hooks_retries_included(client, emulator):
    seen = []
    client.on_response.append(lambda method, endpoint, status, elapsed: seen.append(
        (method, endpoint, status)))
    client.on_response.append(lambda *args: 1 / 0)  # a broken hook must not break the call
    emulator.set_faults(next_statuses=[503])
    action = client.list_actions(limit=1).actions[0]
    client.get_action(action.id)
    assert seen == [
        ("GET", LIST, 503), ("GET", LIST, 200), ("GET", DETAIL, 200),
    ]


SECRETS = ("test-app-token", "test-app-id")


def _assert_no_secret(text, secrets):
    for secret in secrets:
        assert secret not in text


def test_secrets_never_reach_logs_errors_or_reprs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    errors = []
    secrets = [emulator.app_id, emulator.app_token]
    oauth = VoucherifyClient(fast(emulator.config, auth="oauth"))
    keys = VoucherifyClient(fast(emulator.config))
    for client in (keys, oauth):
        action = client.list_actions(limit=1).actions[0]
        client.get_action(action.id)
        for faults in ({"next_statuses": [401]}, {"next_statuses": [503, 503, 503]},
                       {"force_429": True}, {"malformed_json": True}, {"drop_connection": True}):
            emulator.set_faults(**faults)
            try:
                client.list_actions(limit=1)
            except VoucherifyError as exc:
                errors.append(exc)
            emulator.clear_faults()
        emulator.revoke_tokens()
        try:
            client.list_actions(limit=1)
        except VoucherifyError as exc:
            errors.append(exc)
    bad = VoucherifyClient(fast(emulator.config, app_token="wrong-secret-value"))
    with pytest.raises(AuthenticationError) as caught:
        bad.list_actions(limit=1)
    errors.append(caught.value)

    tokens = [oauth._auth.headers()["Authorization"].split()[-1]]
    everything = "\n".join(
        [caplog.text]
        + [f"{e!s} {e!r} {e.details} {e.args}" for e in errors]
        + [repr(c) + repr(c.config) + repr(c._auth) for c in (keys, oauth, bad)]
    )
    assert len(errors) >= 8
    assert "GET /v1/async-actions" in caplog.text, "the logs were captured at all"
    _assert_no_secret(everything, [*secrets, *tokens, "wrong-secret-value"])
