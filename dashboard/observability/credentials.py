"""The last known outcome of authenticating to Voucherify, shared by replicas via the cache.

Readiness reads this instead of calling upstream: every probe would otherwise be paid from
the customer's API budget.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.cache import cache

from dashboard import hot
from dashboard.voucherify.auth import TOKEN_ENDPOINT

logger = logging.getLogger(__name__)

CACHE_KEY = "observability:upstream-auth"
State = Literal["good", "bad", "unknown"]
# The same outcome again is written at most this often by a process, not on every call (a
# round trip each): a new state is written at once, only its moment ("N s ago") may lag.
REWRITE_SECONDS = 5.0
# What this process last wrote, (key, state, status), remembered (hot.py) that long.
_WRITTEN = hot.MEMO_PREFIX + "upstream-auth-written"


@dataclass(frozen=True)
class Outcome:
    state: State
    status: int | None = None  # the HTTP status that decided it
    at: float | None = None  # epoch seconds


def _key() -> str:
    """The outcome belongs to the credentials it was found with. Replicas redeployed with
    corrected keys must not read the old keys' 401 from the shared cache: unready, they
    would get no traffic, make no call, and never find out that the new keys work."""
    config = settings.VOUCHERIFY
    material = "\0".join(str(part or "") for part in (
        config.base_url, config.auth, config.app_id, config.app_token, config.bearer_token,
    ))
    return f"{CACHE_KEY}:{hashlib.sha256(material.encode()).hexdigest()[:24]}"


def outcome_for(status: int, endpoint: str = "", auth: str = "keys") -> State | None:
    """A 401 or 403 for the configured credentials means they are rejected; a 2xx that they
    worked. With OAuth the configured credentials are the keys, which only the token endpoint
    judges: a 401 for a data call refused a token (expired, revoked), which the client renews
    from the keys; that the token endpoint then answered 500 says nothing about the keys."""
    if status in (401, 403):
        return "bad" if auth != "oauth" or endpoint == TOKEN_ENDPOINT else None
    if 200 <= status < 300:
        return "good"
    return None  # 404, 429, 5xx, no answer: say nothing about the credentials


def record(status: int, endpoint: str = "") -> None:
    state = outcome_for(status, endpoint, settings.VOUCHERIFY.auth)
    if state is None:
        return
    outcome = (_key(), state, status)
    if hot.get(_WRITTEN) == outcome:
        return
    try:
        cache.set(outcome[0], {"state": state, "status": status, "at": time.time()}, None)
    except Exception:  # the cache being down must never break an upstream call
        logger.warning("Could not record the upstream auth outcome in the cache.", exc_info=True)
        return
    hot.put(_WRITTEN, outcome, REWRITE_SECONDS)  # off with the memory (the tests): every time


def last() -> Outcome:
    """The last recorded outcome; raises whatever the cache raises when it is unreachable."""
    value = cache.get(_key())
    if not isinstance(value, dict) or value.get("state") not in ("good", "bad"):
        return Outcome("unknown")
    return Outcome(value["state"], value.get("status"), value.get("at"))
