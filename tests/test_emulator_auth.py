"""App keys, OAuth bearer tokens, the oauth endpoints, and the per-minute request limit."""

from __future__ import annotations

import time

import pytest

TOKEN_FORM = {"grant_type": "client_credentials", "scope": "async-actions"}


def issue(emulator, **form) -> dict:
    response = emulator.api("/v1/oauth/token", method="POST", form={**TOKEN_FORM, **form})
    assert response.status == 200, response.body
    return response.json()


def bearer(token: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


def assert_unauthorized(response, fragment: str) -> None:
    assert response.status == 401
    body = response.json()
    assert (body["code"], body["key"], body["message"]) == (401, "unauthorized", "Unauthorized")
    assert fragment in body["details"]


def test_app_keys_are_accepted(emulator):
    assert emulator.api("/v1/async-actions").status == 200


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "Missing"),
        ({"X-App-Id": "test-app-id"}, "Missing"),
        ({"X-App-Id": "test-app-id", "X-App-Token": "wrong"}, "Invalid X-App-Id or X-App-Token"),
        ({"X-App-Id": "wrong", "X-App-Token": "test-app-token"}, "Invalid X-App-Id"),
        ({"Authorization": "Bearer not-a-token"}, "Invalid OAuth token"),
        ({"Authorization": "Basic dGVzdDp0ZXN0"}, "Bearer"),
    ],
)
def test_missing_or_wrong_credentials_are_401(emulator, headers, fragment):
    assert_unauthorized(emulator.api("/v1/async-actions", headers=headers), fragment)
    assert_unauthorized(emulator.api("/v1/async-actions/aa_x", headers=headers), fragment)


def test_token_response_shape(emulator):
    before = time.time()
    token = issue(emulator)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == "async-actions"
    assert before + 899 <= token["expires_at"] <= time.time() + 901
    assert token["client_id"] and len(token["access_token"]) >= 32


@pytest.mark.parametrize("scope", ["async-actions", "api", "vouchers async-actions"])
def test_bearer_token_with_a_fitting_scope_reads_actions(emulator, scope):
    token = issue(emulator, scope=scope)
    listed = emulator.api("/v1/async-actions?limit=1", headers=bearer(token))
    assert listed.status == 200
    action_id = listed.json()["async_actions"][0]["id"]
    assert emulator.api(f"/v1/async-actions/{action_id}", headers=bearer(token)).status == 200


def test_bearer_token_without_the_scope_is_refused(emulator):
    token = issue(emulator, scope="vouchers campaigns")
    assert_unauthorized(emulator.api("/v1/async-actions", headers=bearer(token)), "scope")


def test_expired_token_is_refused(emulator):
    emulator.configure(token_ttl=0)
    token = issue(emulator)
    assert token["expires_in"] == 0
    assert_unauthorized(emulator.api("/v1/async-actions", headers=bearer(token)), "expired")


def test_revoked_tokens_are_refused_and_new_ones_work(emulator):
    old = issue(emulator)
    emulator.revoke_tokens()
    assert_unauthorized(emulator.api("/v1/async-actions", headers=bearer(old)), "revoked")
    assert emulator.api("/v1/async-actions", headers=bearer(issue(emulator))).status == 200


def test_reset_forgets_issued_tokens(emulator):
    token = issue(emulator)
    emulator.reset()
    assert_unauthorized(emulator.api("/v1/async-actions", headers=bearer(token)), "Invalid")


@pytest.mark.parametrize(
    ("form", "key", "message"),
    [
        ({"grant_type": "client_credentials"}, "missing_parameters", "Missing parameters"),
        ({"scope": "api"}, "missing_parameters", "Missing parameters"),
        ({"grant_type": "client_credentials", "scope": " "}, "missing_parameters",
         "Missing parameters"),
        ({"grant_type": "password", "scope": "api"}, "invalid_grant_type", "Invalid grant_type"),
        ({"grant_type": "client_credentials", "scope": "vouchers,campaigns"}, "invalid_scope",
         "Invalid scope: vouchers,campaigns"),
        ({"grant_type": "client_credentials", "scope": "api everything"}, "invalid_scope",
         "Invalid scope: everything"),
    ],
)
def test_token_endpoint_validates_its_form(emulator, form, key, message):
    response = emulator.api("/v1/oauth/token", method="POST", form=form)
    assert response.status == 400
    body = response.json()
    assert (body["code"], body["key"], body["message"]) == (400, key, message)


def test_token_endpoint_takes_app_keys_only(emulator):
    token = issue(emulator, scope="api")
    response = emulator.api("/v1/oauth/token", method="POST", form=TOKEN_FORM,
                            headers=bearer(token))
    assert_unauthorized(response, "Missing")
    wrong = {"X-App-Id": "test-app-id", "X-App-Token": "nope"}
    assert_unauthorized(emulator.api("/v1/oauth/token", method="POST", form=TOKEN_FORM,
                                     headers=wrong), "Invalid")


def test_introspect_and_revoke_one_token(emulator):
    token = issue(emulator)
    form = {"access_token": token["access_token"]}
    active = emulator.api("/v1/oauth/introspect", method="POST", form=form).json()
    assert active["active"] is True and active["scope"] == "async-actions"
    assert emulator.api("/v1/oauth/token/revoke", method="POST", form=form).status == 204
    assert emulator.api("/v1/oauth/token/revoke", method="POST", form=form).status == 404
    assert emulator.api("/v1/oauth/introspect", method="POST", form=form).json() == {
        "active": False
    }
    missing = emulator.api("/v1/oauth/introspect", method="POST", form={})
    assert missing.status == 400 and missing.json()["key"] == "missing_parameters"


@pytest.mark.parametrize("path", ["/v1/async-actions", "/v1/async-actions/aa_unknown",
                                  "/v1/nothing-here"])
def test_every_v1_response_carries_rate_limit_headers(emulator, path):
    for headers in (None, {}):
        response = emulator.api(path, headers=headers)
        assert response.headers["X-Rate-Limit-Limit"] == "6000"
        assert int(response.headers["X-Rate-Limit-Remaining"]) < 6000
        assert int(response.headers["X-Rate-Limit-Retry"]) >= int(time.time())


def test_past_the_limit_the_api_answers_429(emulator):
    emulator.reset(rate_limit=3)
    remaining = [emulator.api("/v1/async-actions").headers["X-Rate-Limit-Remaining"]
                 for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = emulator.api("/v1/async-actions")
    assert limited.status == 429
    assert limited.json()["key"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-Rate-Limit-Type"] == "requests_per_minute"
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    assert emulator.count(status=429) == 1
    # The limit is per project: a token does not get around it.
    assert emulator.api("/v1/oauth/token", method="POST", form=TOKEN_FORM).status == 429


def test_the_limit_can_be_raised_at_runtime(emulator):
    emulator.configure(rate_limit=1)
    emulator.api("/v1/async-actions")
    assert emulator.api("/v1/async-actions").status == 429
    emulator.configure(rate_limit=100)
    assert emulator.api("/v1/async-actions").status == 200


def test_reset_restores_the_default_limit(emulator):
    emulator.configure(rate_limit=1)
    emulator.reset()
    assert emulator.api("/v1/async-actions").headers["X-Rate-Limit-Limit"] == "6000"
