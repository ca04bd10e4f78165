"""Live actions follow the clock; the seeded history is deterministic and varied."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.emulator.results import KNOWN_TYPES, PURGE_TYPES, REPORTED
from dashboard.emulator.seed import UNKNOWN_TYPE
from dashboard.emulator.store import Store
from dashboard.emulator.timeutil import parse_end_date

START = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock) -> Store:
    return Store(live_every=0, clock=clock)


def details(store: Store) -> list[dict]:
    return [store.get_action(action_id) for action_id in store.ids()]


@pytest.mark.parametrize("outcome", ["DONE", "FAILED"])
def test_created_action_goes_enqueued_in_progress_then_its_outcome(store, clock, outcome):
    created = store.create_action("CUSTOMERS.IMPORT_CSV", outcome, duration=10)
    assert (created["status"], created["progress"]) == ("ENQUEUED", 0)
    assert "result" not in created and "processing_time" not in created
    clock.advance(0.5)
    assert store.get_action(created["id"])["status"] == "ENQUEUED"
    progress = []
    for _ in range(4):
        clock.advance(2)
        running = store.get_action(created["id"])
        assert running["status"] == "IN_PROGRESS"
        assert "result" not in running
        progress.append(running["progress"])
    assert progress == sorted(progress) and 0 <= progress[0] and progress[-1] < 100
    clock.advance(1.5)
    done = store.get_action(created["id"])
    assert (done["status"], done["progress"], done["processing_time"]) == (outcome, 100, 10_000)
    assert parse_end_date(done["updated_at"]) - parse_end_date(done["created_at"]) == 10_000
    if outcome == "DONE":
        assert done["result"]["failed_count"] == len(done["result"]["failed"])


def test_bulk_updates_report_operation_status(store, clock):
    created = store.create_action("VOUCHERS.BULK_UPDATE", duration=4)
    assert created["operation_status"] == "UNKNOWN"
    clock.advance(5)
    done = store.get_action(created["id"])
    assert done["operation_status"] == "SUCCESS"
    assert {"done_count", "failed_count", "reports", "reports_available_till", "errors"} <= set(
        done["result"]
    )


def test_exact_result_and_who_started_it_are_kept(store, clock):
    result = {"message": "Updated 3 customers.", "done_count": 3}
    user = {"id": "user_1", "email": "a@example.com"}
    created = store.create_action("CUSTOMERS.METADATA_KEY_PURGE", duration=1, result=result,
                                  user=user, log_id="log_1", request_id="w-123")
    clock.advance(1)
    done = store.get_action(created["id"])
    assert (done["result"], done["user"], done["log_id"], done["request_id"]) == (
        result, user, "log_1", "w-123"
    )
    listed, _ = store.list_actions(1)
    assert listed[0]["id"] == created["id"] and "user" not in listed[0]


def test_inserted_objects_are_served_verbatim_and_replaced_by_id(store):
    first = {"id": "aa_1", "type": "WHATEVER", "status": "ODD", "created_at": "2099-01-01",
             "extra": [1, {"x": None}]}
    assert store.insert_action(first) == first
    second = {**first, "status": "DONE", "created_at": "2000-01-01T00:00:00.000Z"}
    store.insert_action(second)
    assert store.get_action("aa_1") == second
    assert store.ids().count("aa_1") == 1
    assert store.ids()[-1] == "aa_1"


def test_live_arrivals_follow_the_clock(clock):
    store = Store(live_every=60, clock=clock)
    seeded = len(store.ids())
    running = [d for d in details(store) if d["status"] in ("ENQUEUED", "IN_PROGRESS")]
    assert len(running) == 2
    clock.advance(59)
    assert len(store.ids()) == seeded
    clock.advance(1)
    newest = store.get_action(store.ids()[0])
    assert parse_end_date(newest["created_at"]) == int((START.timestamp() + 60) * 1000)
    assert newest["status"] == "ENQUEUED"
    clock.advance(600)
    assert len(store.ids()) == seeded + 11
    arrivals = details(store)[:11]
    assert {d["type"] for d in arrivals} <= set(KNOWN_TYPES)
    assert any(d["status"] in ("DONE", "FAILED") for d in arrivals)
    assert any(d["status"] in ("ENQUEUED", "IN_PROGRESS") for d in arrivals)


def test_changing_the_arrival_pace_keeps_earlier_arrivals(clock):
    store = Store(live_every=30, clock=clock)
    clock.advance(95)
    before = store.ids()
    store.set_live_every(10)
    clock.advance(25)
    after = store.ids()
    assert set(before) <= set(after) and len(after) == len(before) + 2
    store.set_live_every(0)
    clock.advance(3600)
    assert store.ids() == after


def test_without_arrivals_nothing_runs_or_appears(store, clock):
    ids = store.ids()
    assert all(d["status"] in ("DONE", "FAILED") for d in details(store))
    clock.advance(86_400)
    assert store.ids() == ids


def test_history_is_deterministic_per_seed(clock):
    one, two = Store(live_every=0, clock=clock), Store(live_every=0, clock=clock)
    assert details(one) == details(two)
    other = Store(seed=7, live_every=0, clock=clock)
    assert set(other.ids()).isdisjoint(one.ids())


def test_history_covers_the_documented_shapes(store):
    actions = details(store)
    start_ms = int(START.timestamp() * 1000)
    assert 300 <= len(actions) <= 400
    assert all(start_ms - parse_end_date(a["created_at"]) <= 60 * 86_400_000 for a in actions)
    assert {a["type"] for a in actions} == set(KNOWN_TYPES) | {UNKNOWN_TYPE}
    done = [a for a in actions if a["status"] == "DONE"]
    failed = [a for a in actions if a["status"] == "FAILED"]
    assert failed and done
    assert any("result" not in a for a in failed)
    assert any(set(a.get("result", {})) == {"message"} for a in failed)
    assert any("done_count" in a.get("result", {}) and "message" not in a["result"]
               for a in failed)
    with_rows = [a for a in done if a["result"].get("failed")]
    assert any(a["result"]["failed_count"] == 0 for a in done if "failed" in a["result"])
    assert {key for a in with_rows for row in a["result"]["failed"] for key in row} == {
        "code", "source_id", "row", "reason"
    }
    big = [a for a in with_rows if a["result"]["failed_count"] >= 150]
    assert len(big) >= 3
    assert all(len({row["reason"] for row in a["result"]["failed"]}) <= 4 for a in big)
    reported = [a for a in done if a["type"] in REPORTED]
    tills = [parse_end_date(a["result"]["reports_available_till"]) for a in reported]
    assert min(tills) < start_ms < max(tills)
    assert all(r.startswith("https://") for a in reported for r in a["result"]["reports"])
    assert any(a["result"]["errors"] for a in reported)
    assert all(a["operation_status"] in ("SUCCESS", "FAILED") for a in reported)
    purges = [a for a in actions if a["type"] in PURGE_TYPES]
    assert all(a["request_id"].startswith("w-") and a["user"]["email"] for a in purges)
    assert any(a["result"]["message"].startswith("Updated ") for a in purges if "result" in a)
    assert all(a["log_id"].startswith("log_") for a in actions if "user" in a)
    assert all(a["progress"] == 100 and a["processing_time"] > 0 for a in actions)
    assert all(a["updated_at"] >= a["created_at"] for a in actions)


def test_live_action_progresses_over_http(emulator):
    created = emulator.create_action("PRODUCTS.IMPORT_CSV", duration=2)
    assert created["status"] == "ENQUEUED"
    seen = ["ENQUEUED"]
    deadline = time.monotonic() + 30
    while seen[-1] not in ("DONE", "FAILED") and time.monotonic() < deadline:
        status = emulator.api(f"/v1/async-actions/{created['id']}").json()["status"]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.1)
    order = ["ENQUEUED", "IN_PROGRESS", "DONE"]
    assert seen[-1] == "DONE"
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    detail = emulator.api(f"/v1/async-actions/{created['id']}").json()
    assert detail["processing_time"] == 2000 and "result" in detail


@pytest.mark.parametrize("body", [{"type": ""}, {"type": "X", "outcome": "MAYBE"},
                                  {"type": "X", "duration": -1}, {"type": "X", "colour": 1},
                                  {"action": {"type": "no id"}}])
def test_bad_create_requests_are_refused(emulator, body):
    from dashboard.emulator.control import ControlError

    with pytest.raises(ControlError, match="400"):
        emulator._call("POST", "/_emulator/actions", body)


def test_any_type_string_can_be_created(emulator):
    hostile = "<script>alert('x')</script>.ÜBER \"TYPE\""
    created = emulator.create_action(hostile, duration=0)
    assert emulator.api(f"/v1/async-actions/{created['id']}").json()["type"] == hostile
    assert emulator.api("/v1/async-actions?limit=1").json()["async_actions"][0]["type"] == hostile
