"""Driving the upstream: the emulator's endpoints, actions made to order, syncs, its truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.history.sync import Progress, Sync
from dashboard.polling import reads as upstream
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.dates import format_timestamp

LIST = "/v1/async-actions"
DETAIL = "/v1/async-actions/{id}"
SEEDED = 320  # dashboard/emulator/seed.py HISTORY_SIZE


def fresh_layer(emulator, settings, *, calls_per_minute: int, reserve: int):
    """The emulator behind the polling layer with known budget settings, counters cleared."""
    settings.VOUCHERIFY_CALLS_PER_MINUTE = calls_per_minute
    settings.VOUCHERIFY_BUDGET_RESERVE = reserve
    settings.VOUCHERIFY_UPSTREAM_RESERVE = 0
    settings.VOUCHERIFY_POLLING_MODE = "economy"
    emulator.clear_stats()
    return emulator


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


def finish_action(emulator, action_id: str, *, status: str = "DONE",
                  result: dict | None = None) -> None:
    """End an action `live_action` inserted, now (same id and creation), when the test is
    ready for it rather than after a time a busy machine may overrun."""
    body = {**detail(emulator, action_id), "status": status, "progress": 100,
            "updated_at": stamp(datetime.now(UTC))}
    if result is not None:
        body["result"] = result
    emulator.insert_action(body)


def upstream_calls(emulator, endpoint: str | None = None) -> int:
    return emulator.count(endpoint=endpoint)


def run_sync(max_calls: int = 10_000, since: datetime | None = None) -> Progress:
    return Sync(upstream.get_client(), max_calls=max_calls, since=since,
                sleep=_no_sleep).run()


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the sync waited {seconds} s for the budget")


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


def finished_history(emulator, count: int, *, newest_days: float, oldest_days: float) -> None:
    """`count` finished actions spread evenly from `newest_days` to `oldest_days` ago: a
    history a few times the seeded one, to count the pages a run reads."""
    step = (oldest_days - newest_days) / max(count - 1, 1)
    for n in range(count):
        minutes = (newest_days + n * step) * 24 * 60
        insert_terminal(emulator, f"aa_{round(minutes * 60_000):018x}", minutes_old=minutes)
