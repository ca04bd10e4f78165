"""What the status page shows: the budget, recent upstream calls, the upstream's own limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from . import budget, economy, stats, store


@dataclass(frozen=True)
class UpstreamLimits:
    limit: int | None
    remaining: int | None
    resets_at: datetime | None
    type: str | None
    observed_at: datetime


@dataclass(frozen=True)
class PollingStatus:
    mode: str
    calls_per_minute: int
    reserve: int
    upstream_reserve: int
    spent_last_minute: int
    tokens_left: int
    background_can_spend: bool
    poll_interval: float
    blocked_until: datetime | None
    retry_at: datetime | None
    upstream_failing: bool
    upstream_limits: UpstreamLimits | None
    calls: list[stats.CallCount]
    hits: int
    misses: int

    @property
    def calls_total(self) -> int:
        return sum(call.count for call in self.calls)

    @property
    def hit_percent(self) -> int | None:
        looked_up = self.hits + self.misses
        return round(100 * self.hits / looked_up) if looked_up else None


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def current(poll_interval: float) -> PollingStatus:
    now = store.now()
    allowance = budget.allowance()
    spent = budget.spent(now)
    state = budget.rate_state()
    limits = None
    if state is not None:
        limits = UpstreamLimits(
            limit=state.limit,
            remaining=state.remaining,
            resets_at=state.retry_at,
            type=state.type,
            observed_at=state.observed_at,
        )
    hits, misses = stats.lookups_last_minute(now)
    return PollingStatus(
        mode=settings.VOUCHERIFY_POLLING_MODE,
        calls_per_minute=allowance.cap,
        reserve=allowance.reserve,
        upstream_reserve=budget.upstream_reserve(),
        spent_last_minute=spent,
        tokens_left=max(0, allowance.cap - spent),
        background_can_spend=budget.seconds_until_tokens(background=True, now=now) == 0,
        poll_interval=poll_interval,
        blocked_until=_moment(budget.blocked_until(now)),
        retry_at=budget.retry_at(),
        upstream_failing=economy.upstream_failing(),
        upstream_limits=limits,
        calls=sorted(stats.calls_last_minute(now), key=lambda call: -call.count),
        hits=hits,
        misses=misses,
    )
