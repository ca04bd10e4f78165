"""Each way of authenticating against the emulator: app keys, OAuth (renewed) and a given token."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.parse
import urllib.request

import pytest

from dashboard import __version__
from dashboard.voucherify import AuthenticationError, VoucherifyClient
from dashboard.voucherify.auth import DEFAULT_TOKEN_LIFETIME, OAuthAuth
from dashboard.voucherify.client import USER_AGENT

TOKEN = "/v1/oauth/token"
DETAIL = "/v1/async-actions/{id}"
LIST = "/v1/async-actions"


def some_id(emulator):
    return VoucherifyClient(emulator.config).list_actions(limit=1).actions[0].id


def issue_token(emulator, scope="async-actions"):
    """A token issued outside the dashboard, as an operator would (stdlib, not the client)."""
    request = urllib.request.Request(
        emulator.url + TOKEN,
        data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode(),
        headers={"X-App-Id": emulator.app_id, "X-App-Token": emulator.app_token},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def test_keys_mode_reads_actions(emulator):
    client = VoucherifyClient(emulator.config)
    page = client.list_actions(limit=5)
    assert len(page.actions) == 5
    assert emulator.count(method="POST", endpoint=TOKEN) == 0


def test_wrong_keys_are_an_authentication_error_without_a_retry(emulator):
    config = dataclasses.replace(emulator.config, app_token="wrong-token-value")
    with pytest.raises(AuthenticationError) as caught:
        VoucherifyClient(config).list_actions(limit=5)
    assert caught.value.status == 401
    assert "VOUCHERIFY_APP_TOKEN" in str(caught.value)
    assert "wrong-token-value" not in str(caught.value)
    assert emulator.count(endpoint=LIST, status=401) == 1


def test_oauth_mode_exchanges_the_keys_once_and_reuses_the_token(emulator):
    client = VoucherifyClient(dataclasses.replace(emulator.config, auth="oauth"))
    action_id = client.list_actions(limit=1).actions[0].id
    for _ in range(3):
        client.get_action(action_id)
    assert emulator.count(method="POST", endpoint=TOKEN, status=200) == 1
    assert emulator.count(endpoint=DETAIL, status=200) == 3


def test_oauth_token_is_renewed_before_it_expires(emulator):
    emulator.configure(token_ttl=1)
    client = VoucherifyClient(dataclasses.replace(emulator.config, auth="oauth"))
    client.list_actions(limit=1)
    time.sleep(1.2)  # let the one-second token run out
    client.list_actions(limit=1)
    assert emulator.count(method="POST", endpoint=TOKEN, status=200) == 2
    assert emulator.count(endpoint=LIST, status=401) == 0, "renewed before, not after, expiry"


def test_oauth_token_is_renewed_once_after_a_401_and_the_call_retried(emulator):
    client = VoucherifyClient(dataclasses.replace(emulator.config, auth="oauth"))
    action_id = client.list_actions(limit=1).actions[0].id
    emulator.revoke_tokens()
    action = client.get_action(action_id)
    assert action.id == action_id
    assert emulator.count(method="POST", endpoint=TOKEN, status=200) == 2
    assert emulator.count(endpoint=DETAIL, status=401) == 1
    assert emulator.count(endpoint=DETAIL, status=200) == 1


def test_oauth_gives_up_after_one_renewal(emulator):
    client = VoucherifyClient(dataclasses.replace(emulator.config, auth="oauth"))
    client.list_actions(limit=1)
    emulator.set_faults(next_statuses=[401, 401], endpoints=[LIST])
    with pytest.raises(AuthenticationError):
        client.list_actions(limit=1)
    assert emulator.count(method="POST", endpoint=TOKEN) == 2
    assert emulator.count(endpoint=LIST, status=401) == 2


def test_oauth_with_wrong_keys_says_the_token_was_refused(emulator):
    config = dataclasses.replace(emulator.config, auth="oauth", app_token="wrong-token-value")
    with pytest.raises(AuthenticationError) as caught:
        VoucherifyClient(config).list_actions(limit=1)
    assert "OAuth token" in str(caught.value)
    assert emulator.count(endpoint=LIST) == 0


def test_bearer_mode_sends_the_given_token(emulator):
    config = dataclasses.replace(
        emulator.config, auth="bearer", bearer_token=issue_token(emulator),
        app_id=None, app_token=None,
    )
    client = VoucherifyClient(config)
    assert len(client.list_actions(limit=3).actions) == 3
    assert emulator.count(method="POST", endpoint=TOKEN) == 1, "only the one issued above"


def test_a_rejected_bearer_token_says_it_was_rejected_or_expired(emulator):
    config = dataclasses.replace(
        emulator.config, auth="bearer", bearer_token=issue_token(emulator),
        app_id=None, app_token=None,
    )
    emulator.revoke_tokens()
    with pytest.raises(AuthenticationError) as caught:
        VoucherifyClient(config).list_actions(limit=3)
    message = str(caught.value)
    assert "VOUCHERIFY_BEARER_TOKEN" in message and "expired" in message
    assert emulator.count(endpoint=LIST, status=401) == 1, "no renewal for a given token"


def test_user_agent_names_the_dashboard_and_its_version():
    assert USER_AGENT.startswith(f"voucherify-async-dashboard/{__version__}")


@pytest.mark.parametrize("body", [
    {"expires_in": float("nan")},
    {"expires_in": "NaN"},
    {"expires_in": float("inf")},
    {"expires_in": "1e400"},
    {"expires_in": True},
    {"expires_in": "soon", "expires_at": float("nan")},
    {"expires_in": None, "expires_at": "Infinity"},
    # A token said to be dead already is no lifetime either: read as 0 it asked for a new
    # token before every call, as NaN did.
    {"expires_in": 0},
    {"expires_in": "-30"},
    {"expires_in": -1e300},
    {"expires_at": 1},  # long past
    {"expires_in": None, "expires_at": "-5"},
])
def test_a_token_lifetime_that_is_no_number_or_none_left_is_read_as_the_default(body):
    # The token answer is Voucherify's to word; one that is no finite number must neither ask
    # for a token before every call (each paid from the budget) nor keep one for ever.
    fetched = []
    now = [1000.0]

    def fetch(path, form, headers):
        fetched.append(path)
        return {"access_token": f"token-{len(fetched)}", **body}

    auth = OAuthAuth("app-id", "app-token", fetch, clock=lambda: now[0])
    for _ in range(5):
        auth.headers()
    assert fetched == [TOKEN]
    now[0] += DEFAULT_TOKEN_LIFETIME  # past the default lifetime: renewed
    assert auth.headers() == {"Authorization": "Bearer token-2"}
