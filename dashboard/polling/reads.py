"""The only way views reach Voucherify: every upstream read goes through these functions.

Behind them is the polling economy (dashboard/polling/; README.md): a shared
cache, single flight, one list call refreshing every live action on the newest page, terminal
actions read once, and a hard per-minute budget shared by all processes. They raise
VoucherifyError only when nothing is known to serve; otherwise a short budget or a failing
upstream gives a `Fetched` marked `stale` with the `problem`.

VOUCHERIFY_POLLING_MODE=naive bypasses all of it (every read is an upstream call), for the
benchmark's comparison only.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from dashboard.history import polling_archive as history
from dashboard.observability import upstream_observer
from dashboard.polling import budget, economy, stats
from dashboard.polling.store import Fetched
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import Action, ActionPage

__all__ = [
    "Fetched",
    "fetch_action",
    "fetch_page",
    "get_client",
    "poll_interval",
    "refresh_live",
]

_client_lock = threading.Lock()
_client: tuple[object, VoucherifyClient] | None = None
_interval_memo: tuple[float, float] | None = None  # (computed at, seconds)
_INTERVAL_MEMO_SECONDS = 0.5


def get_client() -> VoucherifyClient:
    """One client per settings.VOUCHERIFY; a new one when the setting changes.

    Its transport does not retry: a retry would be an upstream call the budget did not
    grant. A failed read is served stale and tried again on a later poll instead.
    """
    global _client
    config = settings.VOUCHERIFY
    with _client_lock:
        if _client is None or _client[0] is not config:
            client = VoucherifyClient(dataclasses.replace(config, retries=0))
            client.on_response.append(stats.record_call)
            client.on_response.append(upstream_observer)  # Prometheus + readiness
            _client = (config, client)
        return _client[1]


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs: Any) -> None:
    global _client, _interval_memo
    if setting in ("VOUCHERIFY", "ACTIONS_POLL_INTERVAL", "VOUCHERIFY_CALLS_PER_MINUTE"):
        with _client_lock:
            _client = None
        _interval_memo = None


def naive() -> bool:
    return getattr(settings, "VOUCHERIFY_POLLING_MODE", "economy") == "naive"


def _now() -> datetime:
    return datetime.now(UTC)


def fetch_page(
    *, limit: int = 100, cursor: Cursor | None = None, background: bool = False
) -> Fetched[ActionPage]:
    """One page of actions, newest first (cursor=None) or older (cursor from the last page)."""
    if naive():
        return Fetched(get_client().list_actions(limit=limit, cursor=cursor), _now())
    fetched = economy.fetch_page(get_client(), limit=limit, cursor=cursor, background=background)
    history.saw_page(fetched.value, cursor, fetched.fetched_at)  # archive its finished actions
    return fetched


def fetch_action(action_id: str, *, background: bool = False) -> Fetched[Action]:
    """One action; its `result` once it is terminal (a live one may come from the list)."""
    if naive():
        return Fetched(get_client().get_action(action_id), _now())
    archived = history.archived(action_id)  # a finished action the archive holds: no call
    if archived is not None:
        return Fetched(*archived)
    fetched = economy.fetch_action(get_client(), action_id, background=background,
                                   keep=history.kept_final)
    history.saw_action(fetched.value, stale=fetched.stale)
    return fetched


def refresh_live(ids: Sequence[str]) -> dict[str, Fetched[Action]]:
    """Latest state of live actions for one poll of many rows; ids nothing is known of are left
    out (the row keeps what it showed). Background priority."""
    if naive():
        return {action_id: fetch_action(action_id) for action_id in dict.fromkeys(ids)}
    latest = economy.refresh_live(get_client(), ids, keep=history.kept_final)
    for fetched in latest.values():
        history.saw_action(fetched.value, stale=fetched.stale)
    return latest


def poll_interval() -> float:
    """Seconds an htmx client should wait before its next poll.

    ACTIONS_POLL_INTERVAL normally; longer while background refreshes cannot spend (until a
    token frees up or the upstream's retry moment) or while the upstream is failing; never
    more than ACTIONS_MAX_POLL_INTERVAL.
    """
    global _interval_memo
    base = float(settings.ACTIONS_POLL_INTERVAL)
    if naive():
        return base
    now = time.monotonic()
    if _interval_memo is not None and now - _interval_memo[0] < _INTERVAL_MEMO_SECONDS:
        return _interval_memo[1]
    longest = max(base, float(getattr(settings, "ACTIONS_MAX_POLL_INTERVAL", 30.0)))
    seconds = max(base, budget.seconds_until_tokens(background=True))
    if economy.upstream_failing():
        seconds = max(seconds, 3 * base)
    seconds = round(min(longest, seconds), 1)
    _interval_memo = (now, seconds)
    return seconds
