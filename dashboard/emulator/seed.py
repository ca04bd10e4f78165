"""A deterministic history of async actions over the 60 days before the emulator started."""

from __future__ import annotations

import random

from .live_actions import Action
from .results import (
    COUNTED,
    IMPORT_ROWS,
    KNOWN_TYPES,
    PURGE_TYPES,
    REPORTED,
    done_result,
    failed_result,
    hex_id,
)

DEFAULT_SEED = 20230120
HISTORY_SIZE = 320
HISTORY_DAYS = 60
UNKNOWN_TYPE = "LOYALTY.MEMBERS_BATCH_CREATE"  # a type the documents do not list yet
# (index from the newest, size): groups sharing one created_at, placed across the page
# boundaries of limits 10, 25, 50 and 100, plus two deeper in the history.
TIE_GROUPS = ((8, 3), (23, 4), (49, 2), (98, 3), (150, 2), (201, 3))
BIG_FAILURE_INDEXES = (14, 61, 133, 240)  # imports with hundreds of failed rows
UNKNOWN_INDEXES = (5, 180)
USERS = (
    {"id": "user_0c5e1d9a2b7f4c3e81", "email": "ada.lovelace@example.com"},
    {"id": "user_0c5e1d9a2b7f4c3e82", "email": "grace.hopper@example.com"},
    {"id": "user_0c5e1d9a2b7f4c3e83", "email": "margaret.hamilton@example.com"},
)
_WEIGHTS = {t: 3 if t in IMPORT_ROWS or t in REPORTED else 1 for t in KNOWN_TYPES}
DAY_MS = 86_400_000


def seed_history(seed: int, start_ms: int, *, in_flight: bool = False) -> list[Action]:
    """Terminal actions, newest first; with `in_flight`, two more still running at start."""
    rng = random.Random(seed)
    times = sorted(
        (start_ms - rng.randrange(5 * 60_000, HISTORY_DAYS * DAY_MS) for _ in range(HISTORY_SIZE)),
        reverse=True,
    )
    for index, size in TIE_GROUPS:
        for offset in range(1, size):
            times[index + offset] = times[index]
    types = list(KNOWN_TYPES) + rng.choices(
        list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=HISTORY_SIZE - len(KNOWN_TYPES)
    )
    rng.shuffle(types)
    imports = [t for t in IMPORT_ROWS if t != "ORDERS.IMPORT"]
    for index in BIG_FAILURE_INDEXES:
        types[index] = imports[index % len(imports)]
    for index in UNKNOWN_INDEXES:
        types[index] = UNKNOWN_TYPE
    actions = [
        _historic(rng, action_type, created_ms, start_ms, big=index in BIG_FAILURE_INDEXES)
        for index, (action_type, created_ms) in enumerate(zip(types, times, strict=True))
    ]
    if in_flight:
        actions[:0] = [
            _running(rng, "VOUCHERS.BULK_UPDATE", start_ms - 2_000, 30_000),
            _running(rng, "CUSTOMERS.IMPORT_CSV", start_ms - 12_000, 50_000),
        ]
    return actions


def live_arrival(seed: int, number: str, created_ms: int) -> Action:
    """The action arriving as `number` while the emulator runs: 20 to 90 seconds long."""
    rng = random.Random(f"{seed}/arrival/{number}")
    action_type = rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
    return _running(rng, action_type, created_ms, rng.randrange(20_000, 90_001))


def new_action(rng: random.Random, action_type: str, created_ms: int, duration_ms: int,
               outcome: str = "DONE", *, sizes: dict | None = None, action_id: str | None = None,
               **fields) -> Action:
    """An action with a generated result fitting its type and outcome (`sizes`: counts);
    its id is drawn from `rng` unless `action_id` is given."""
    drawn = hex_id(rng, "aa_")  # drawn even when given, so the rest of the content is the same
    action_id = action_id or drawn
    finished_ms = created_ms + duration_ms
    if "result" in fields:
        result = fields.pop("result")
    elif outcome == "FAILED":
        result = failed_result(action_type, rng, action_id=action_id, finished_ms=finished_ms)
    else:
        result = done_result(
            action_type, rng, action_id=action_id, finished_ms=finished_ms, **(sizes or {})
        )
    prefix = "w-" if action_type in PURGE_TYPES else "v-"
    request_id = fields.pop("request_id", None) or hex_id(rng, prefix)
    return Action(id=action_id, type=action_type, request_id=request_id,
                  created_ms=created_ms, duration_ms=duration_ms, outcome=outcome,
                  result=result, **fields)


def _historic(rng: random.Random, action_type: str, created_ms: int, start_ms: int,
              *, big: bool) -> Action:
    outcome = "FAILED" if rng.random() < 0.1 and not big else "DONE"
    duration = _duration(rng, action_type)
    duration = max(1, min(duration, start_ms - created_ms - 1000))
    sizes = None
    if big:
        sizes = {"total": rng.randrange(800, 5000), "failed_count": rng.randrange(150, 450),
                 "reasons": rng.choice((2, 3))}
    return new_action(rng, action_type, created_ms, duration, outcome, sizes=sizes,
                      **_who(rng, action_type))


def _running(rng: random.Random, action_type: str, created_ms: int, duration_ms: int) -> Action:
    outcome = "FAILED" if rng.random() < 0.15 else "DONE"
    return new_action(rng, action_type, created_ms, duration_ms, outcome, **_who(rng, action_type))


def _duration(rng: random.Random, action_type: str) -> int:
    if action_type in COUNTED:
        return rng.randrange(100, 2_500)
    return rng.randrange(100, 8_000) if rng.random() < 0.8 else rng.randrange(8_000, 600_000)


def _who(rng: random.Random, action_type: str) -> dict:
    """Who started it: always known for purges (started in Voucherify's dashboard)."""
    if action_type in PURGE_TYPES or rng.random() < 0.3:
        return {"user": dict(rng.choice(USERS)), "log_id": hex_id(rng, "log_")}
    return {}
