"""The one gate to Voucherify, and the one client behind it.

Every HTTP exchange the dashboard has with the upstream (pages, `manage.py actions`,
`sync_actions`, OAuth token requests, the renewal after a 401, each retry) goes through
`get_client()`, whose gate spends one token of the shared per-minute budget before the
exchange is sent, and records what the answer says about the upstream's own limit.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from dashboard import after_response
from dashboard.voucherify.client import ResponseHook, VoucherifyClient
from dashboard.voucherify.config import VoucherifyConfig
from dashboard.voucherify.models import RateLimitState

from . import budget, stats, store

logger = logging.getLogger(__name__)

# Background (polls, the backfill) leaves VOUCHERIFY_BUDGET_RESERVE to page loads.
_background: ContextVar[bool] = ContextVar("upstream_background", default=False)
# The one read of a finished action's result: a poll's, counted apart from its refreshes.
_result: ContextVar[bool] = ContextVar("upstream_result", default=False)
# A result read for a list row nobody opened (budget.LISTED).
_listed: ContextVar[bool] = ContextVar("upstream_listed", default=False)
_observers: list[ResponseHook] = []


@contextmanager
def priority(*, background: bool, result: bool = False) -> Iterator[None]:
    """Calls made inside are paid at this priority (a page load a person asked for, or not);
    `result`: they read a finished action's result, once, rather than refresh live data."""
    token, result_token = _background.set(background), _result.set(result)
    try:
        yield
    finally:
        _result.reset(result_token)
        _background.reset(token)


@contextmanager
def for_list_rows() -> Iterator[None]:
    """Result reads inside are for list rows: they leave part of the results' calls to open
    panels (budget.kept_for_panels)."""
    token = _listed.set(True)
    try:
        yield
    finally:
        _listed.reset(token)


class BudgetGate:
    """voucherify.client.Gate over the shared budget (dashboard/polling/budget.py)."""

    def admit(self) -> None:
        budget.spend(background=_background.get(), result=_result.get(),
                     listed=_result.get() and _listed.get())

    def observe(
        self, status: int, rate_limit: RateLimitState | None, retry_at: datetime | None
    ) -> None:
        budget.note_rate_state(rate_limit, retry_at)
        if retry_at is not None:
            budget.note_retry_at(retry_at)


def add_observer(hook: ResponseHook) -> None:
    """Also tell `hook` about every exchange (observability registers its metrics here)."""
    if hook not in _observers:
        _observers.append(hook)


def _tell_observers(method: str, endpoint: str, status: int, elapsed: float) -> None:
    for hook in list(_observers):
        hook(method, endpoint, status, elapsed)


def get_client() -> VoucherifyClient:
    """The client for settings.VOUCHERIFY; a new one when the setting changes."""
    return _client_for(settings.VOUCHERIFY)


@functools.lru_cache(maxsize=1)
def _client_for(config: VoucherifyConfig) -> VoucherifyClient:
    # No retries: a failed read is served stale and tried again on a later poll, which
    # costs no more than a retry and holds no page.
    # The layer's clock (store.now): a 429's moment is read on the clock the budget holds by.
    client = VoucherifyClient(dataclasses.replace(config, retries=0), gate=BudgetGate(),
                              clock=lambda: store.now())
    # The call's bookkeeping (its count on the status page, what observers note: the upstream
    # auth outcome, metrics) is written once the page asking for it has answered.
    client.on_response.append(_once_answered(stats.record_call))
    client.on_response.append(_once_answered(_tell_observers))
    return client


def _once_answered(hook: ResponseHook) -> ResponseHook:
    def put_off(method: str, endpoint: str, status: int, elapsed: float) -> None:
        after_response.run(lambda: hook(method, endpoint, status, elapsed))
    return put_off


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs: Any) -> None:
    if setting == "VOUCHERIFY":
        _client_for.cache_clear()
