"""The budget is the only gate to Voucherify: every exchange is paid for before it is sent.

Token requests, retries and the renewal after a 401 included; pages, `manage.py actions` and
`sync_actions` alike. Counted on the emulator's own stats, never on mocks.
"""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.history import sync
from dashboard.polling import gate
from dashboard.voucherify import BudgetExhaustedError, RateLimitedError, VoucherifyClient

LIST = "/v1/async-actions"
TOKEN = "/v1/oauth/token"


class CountingGate:
    """A gate that admits `allow` exchanges, then refuses, and remembers what it saw."""

    def __init__(self, allow: int = 1000) -> None:
        self.allow = allow
        self.admitted = 0
        self.observed: list[int] = []

    def admit(self) -> None:
        if self.admitted >= self.allow:
            raise BudgetExhaustedError("refused by the test's gate", retry_after=60)
        self.admitted += 1

    def observe(self, status, rate_limit, retry_at) -> None:
        self.observed.append(status)


def _client(emulator, gate_, **changes) -> VoucherifyClient:
    config = dataclasses.replace(emulator.config, backoff_factor=0.0, backoff_max=0.0, **changes)
    return VoucherifyClient(config, gate=gate_)


def test_each_retry_passes_the_gate(emulator):
    counting = CountingGate()
    emulator.set_faults(next_statuses=[503, 502])
    _client(emulator, counting, retries=2).list_actions(limit=5)
    assert counting.admitted == emulator.count() == 3
    assert counting.observed == [503, 502, 200]


def test_the_oauth_token_request_passes_the_gate(emulator):
    counting = CountingGate()
    _client(emulator, counting, auth="oauth").list_actions(limit=5)
    assert emulator.count(endpoint=TOKEN) == 1
    assert counting.admitted == emulator.count() == 2


def test_the_renewal_after_a_401_passes_the_gate_for_each_exchange(emulator):
    counting = CountingGate()
    client = _client(emulator, counting, auth="oauth")
    client.list_actions(limit=5)  # token, list
    emulator.revoke_tokens()
    client.list_actions(limit=5)  # list (401), a new token, the list again
    assert emulator.count(status=401) == 1
    assert emulator.count(endpoint=TOKEN) == 2
    assert counting.admitted == emulator.count() == 5


def test_a_refused_exchange_is_never_sent(emulator):
    client = _client(emulator, CountingGate(allow=1), auth="oauth", retries=2)
    with pytest.raises(BudgetExhaustedError) as caught:
        client.list_actions(limit=5)
    assert not isinstance(caught.value, RateLimitedError)  # nothing upstream said 429
    assert caught.value.retry_after == 60
    assert emulator.count() == emulator.count(endpoint=TOKEN) == 1


def test_a_429_seen_by_the_gate_holds_every_later_call_back(emulator, settings):
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
    emulator.set_faults(force_429=True, retry_after=30)
    with pytest.raises(RateLimitedError):
        gate.get_client().list_actions(limit=5)
    emulator.set_faults()
    with pytest.raises(BudgetExhaustedError, match="asked the dashboard to hold back"):
        gate.get_client().list_actions(limit=5)
    assert emulator.count() == 1


@pytest.mark.django_db
def test_one_call_a_minute_with_oauth_is_one_request_through_pages_cli_and_sync(
    emulator, settings, operator_client, monkeypatch
):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, auth="oauth")
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
    monkeypatch.setattr(sync, "MAX_BUDGET_WAIT", 0.0)  # give up at once, not after 5 minutes
    emulator.clear_stats()

    list_page = operator_client.get("/actions/")
    detail_page = operator_client.get("/actions/aa_0c5543f00797b6113f/")
    with pytest.raises(CommandError):
        call_command("actions", "list", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError):
        call_command("actions", "show", "aa_0c5543f00797b6113f", stdout=StringIO(),
                     stderr=StringIO())
    err = StringIO()
    call_command("sync_actions", "--max-calls", "5", stdout=StringIO(), stderr=err)

    # One request in the minute: the token request, which the budget paid for.
    assert emulator.stats()["total"] == emulator.count(endpoint=TOKEN) == 1
    assert emulator.count(endpoint=LIST) == 0
    assert list_page.status_code == detail_page.status_code == 503
    assert "budget" in err.getvalue()
