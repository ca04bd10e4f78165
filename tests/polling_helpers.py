"""Shared helpers for the polling economy tests: a movable clock and upstream counters."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.polling import archiving, store

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"


class Clock:
    """The layer's clock, moved forward by tests instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(store, "now", moved)
    return moved


def fresh_layer(emulator, settings, *, calls_per_minute: int, reserve: int):
    """The emulator behind the polling layer with known budget settings, counters cleared."""
    settings.VOUCHERIFY_CALLS_PER_MINUTE = calls_per_minute
    settings.VOUCHERIFY_BUDGET_RESERVE = reserve
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
    settings.VOUCHERIFY_POLLING_MODE = "economy"
    emulator.clear_stats()
    return emulator


@pytest.fixture
def layer(emulator, settings, clock):
    """The emulator behind a fresh layer with known settings (2 s interval, roomy budget), and
    no archive, as without the history app: these tests have no database."""
    settings.ACTIONS_POLL_INTERVAL = 2.0
    previous = archiving.register(archiving.NoArchive())
    yield fresh_layer(emulator, settings, calls_per_minute=40, reserve=4)
    archiving.register(previous)


def live_action(emulator, *, minutes_old: float | None = None, status: str = "IN_PROGRESS",
                action_id: str | None = None, result: dict | None = None) -> str:
    """Insert an action that stays in `status` until replaced; newest unless `minutes_old`."""
    created = datetime.now(UTC) - timedelta(minutes=minutes_old or 0)
    if minutes_old is None:
        created += timedelta(seconds=1)  # ahead of anything created in the same millisecond
    action_id = action_id or f"aa_{abs(hash((created, status))) % 16**18:018x}"
    body = {
        "id": action_id,
        "object": "async_action",
        "type": "VOUCHERS.IMPORT_CSV",
        "status": status,
        "progress": 100 if status in ("DONE", "FAILED") else 40,
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": "v-0c5543f00797b6113f",
    }
    if result is not None:
        body["result"] = result
    emulator.insert_action(body)
    return action_id


def upstream_calls(emulator, endpoint: str | None = None) -> int:
    return emulator.count(endpoint=endpoint)
