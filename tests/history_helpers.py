"""Shared helpers for the history tests: a roomy budget, syncs, and the emulator's truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.history.sync import Progress, Sync
from dashboard.polling import reads as upstream
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.dates import format_timestamp
from tests.polling_helpers import fresh_layer

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"
SEEDED = 320  # dashboard/emulator/seed.py HISTORY_SIZE


@pytest.fixture
def archive(emulator, settings, db):
    """The emulator as upstream, a budget that never makes a test wait, counters cleared."""
    return fresh_layer(emulator, settings, calls_per_minute=100_000, reserve=0)


def run_sync(max_calls: int = 10_000, since: datetime | None = None) -> Progress:
    return Sync(upstream.get_client(), max_calls=max_calls, since=since,
                sleep=_no_sleep).run()


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the sync waited {seconds} s for the budget")


@pytest.fixture
def synced(archive):
    """The whole seeded history archived, with purge and FAILED details; counters cleared."""
    progress = run_sync()
    archive.clear_stats()
    return progress


def upstream_history(emulator) -> list[dict]:
    """Every list item the emulator holds, newest first, read by a client of its own."""
    client = VoucherifyClient(emulator.config)
    return [action.raw for action in client.iter_actions(limit=100)]


def detail(emulator, action_id: str) -> dict:
    return emulator.api(f"{LIST}/{action_id}").json()


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def insert_terminal(emulator, action_id: str, *, type_: str = "VOUCHERS.IMPORT_CSV",
                    status: str = "DONE", minutes_old: float = 0.0, **extra) -> dict:
    """An exact terminal action created `minutes_old` ago (0: newer than the seeded ones)."""
    created = datetime.now(UTC) - timedelta(minutes=minutes_old) + timedelta(seconds=1)
    body = {
        "id": action_id, "object": "async_action", "type": type_, "status": status,
        "progress": 100, "created_at": stamp(created),
        "updated_at": stamp(created + timedelta(seconds=3)), "request_id": "v-0c5543f0",
        "processing_time": 3000, **extra,
    }
    emulator.insert_action(body)
    return body
