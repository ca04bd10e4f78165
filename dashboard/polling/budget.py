"""A hard per-minute budget of upstream calls, shared by every process through the cache.

The bucket is a sliding window of per-second counters (`polling:spent:<epoch second>`). To
spend, a caller first increments the current second's counter (atomic in Redis and in local
memory), then sums the last 61 seconds; over the allowance it takes its increment back and is
refused. Because every caller counts itself before it looks, two callers racing for the last
token can both be refused, never both let through: the window never holds more spent calls
than the cap. 61 counters, not 60, so that any 60 s of real time is covered whatever the
sub-second phase.

Besides its own cap the budget obeys the upstream: no call before a 429's retry moment, and
none while X-Rate-Limit-Remaining says no more than VOUCHERIFY_UPSTREAM_RESERVE are left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from dashboard.counters import bump
from dashboard.voucherify.errors import BudgetExhaustedError
from dashboard.voucherify.models import RateLimitState

from . import store

WINDOW_SECONDS = 61
COUNTER_TTL = 2 * WINDOW_SECONDS
RETRY_AT_KEY = store.key("retry_at")
RATE_STATE_KEY = store.key("rate_limit")
# With no X-Rate-Limit-Retry, a low Remaining is believed for this long.
UPSTREAM_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Allowance:
    cap: int
    reserve: int

    def for_priority(self, background: bool) -> int:
        return self.cap - self.reserve if background else self.cap


def allowance() -> Allowance:
    cap = int(settings.VOUCHERIFY_CALLS_PER_MINUTE)
    reserve = min(int(settings.VOUCHERIFY_BUDGET_RESERVE), cap - 1)
    return Allowance(cap=cap, reserve=max(0, reserve))


def upstream_reserve() -> int:
    return int(settings.VOUCHERIFY_UPSTREAM_RESERVE)


def _counter(second: int) -> str:
    return store.key("spent", second)


def _window(now: float) -> list[str]:
    current = int(now)
    return [_counter(second) for second in range(current - WINDOW_SECONDS + 1, current + 1)]


def spent_by_second(now: float | None = None) -> dict[int, int]:
    """Calls spent in each second of the window (seconds with none are left out)."""
    now = store.now() if now is None else now
    found = cache.get_many(_window(now))
    return {int(name.rsplit(":", 1)[1]): int(count) for name, count in found.items() if count}


def spent(now: float | None = None) -> int:
    return sum(spent_by_second(now).values())


def tokens_left(now: float | None = None) -> int:
    return max(0, allowance().cap - spent(now))


def blocked_until(now: float | None = None) -> float | None:
    """Epoch second before which no call may be made (429 or upstream reserve), else None."""
    now = store.now() if now is None else now
    moments = [cache.get(RETRY_AT_KEY)]
    state = rate_state()
    if state is not None and state.remaining is not None and state.remaining <= upstream_reserve():
        until = state.retry_at or state.observed_at + timedelta(seconds=UPSTREAM_WINDOW_SECONDS)
        moments.append(until.timestamp())
    future = [moment for moment in moments if isinstance(moment, int | float) and moment > now]
    return max(future) if future else None


def seconds_until_tokens(background: bool, now: float | None = None) -> float:
    """How long until a call of this priority could be spent (0 when it can be now)."""
    now = store.now() if now is None else now
    waits = [0.0]
    until = blocked_until(now)
    if until is not None:
        waits.append(until - now)
    by_second = spent_by_second(now)
    excess = sum(by_second.values()) - allowance().for_priority(background) + 1
    for second in sorted(by_second):
        if excess <= 0:
            break
        excess -= by_second[second]
        waits.append(second + WINDOW_SECONDS - now)
    return max(waits)


def spend(*, background: bool) -> None:
    """Take one token or raise BudgetExhaustedError; never lets the window exceed the cap."""
    now = store.now()
    until = blocked_until(now)
    if until is not None:
        raise _short(until - now, "Voucherify asked the dashboard to hold back")
    name = _counter(int(now))
    bump(name, COUNTER_TTL)
    allowed = allowance().for_priority(background)
    if spent(now) > allowed:
        try:
            cache.decr(name)
        except ValueError:
            pass
        wait = max(1.0, seconds_until_tokens(background, now))
        raise _short(wait, f"the dashboard's budget of {allowance().cap} calls a minute is spent")


def _short(wait: float, reason: str) -> BudgetExhaustedError:
    wait = max(0.0, wait)
    return BudgetExhaustedError(
        f"Not asking Voucherify for now: {reason}; next call in about {math.ceil(wait)} s.",
        retry_after=wait,
        key="dashboard_budget",
    )


def note_retry_after(seconds: float) -> None:
    """Remember a 429's retry moment for every process."""
    retry_at = store.now() + seconds
    current = cache.get(RETRY_AT_KEY)
    if not isinstance(current, int | float) or current < retry_at:
        cache.set(RETRY_AT_KEY, retry_at, max(1, math.ceil(retry_at - store.now()) + 5))


def note_rate_state(state: RateLimitState | None) -> None:
    """Keep the upstream's latest X-Rate-Limit-* headers for the budget and the status page."""
    if state is not None:
        cache.set(RATE_STATE_KEY, state, store.KEEP_SECONDS)


def rate_state() -> RateLimitState | None:
    state = cache.get(RATE_STATE_KEY)
    return state if isinstance(state, RateLimitState) else None


def retry_at() -> datetime | None:
    moment = cache.get(RETRY_AT_KEY)
    if isinstance(moment, int | float) and moment > store.now():
        return datetime.fromtimestamp(moment, UTC)
    return None
