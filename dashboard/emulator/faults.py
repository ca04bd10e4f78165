"""Injected upstream faults: latency, 5xx, 429, bad bodies, dropped connections."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

from .limits import LIMIT_TYPE
from .responses import Response, error

DEFAULTS: dict[str, object] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "error_status": 503,
    "next_statuses": [],  # consumed one per matching request; 0 drops the connection
    "force_429": False,
    "retry_after": 30,
    "malformed_json": False,
    "wrong_shape": False,
    "drop_connection": False,
    "endpoints": None,  # route templates the faults apply to; None: every /v1 route
}
MALFORMED_BODY = b'{"object": "list", "data_ref": "async_actions", "async_actions": [{"id": "aa_'
WRONG_SHAPE_BODY = b'{"unexpected": ["wrong", "shape"], "async_actions": "not a list"}'


@dataclass
class Injection:
    """What to do to one request: wait, then answer instead, drop, or spoil a 200 body."""

    delay: float = 0.0
    response: Response | None = None
    drop: bool = False
    spoil: bytes | None = None


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._plan = _copy(DEFAULTS)

    def set(self, spec: dict) -> dict:
        """Replace the faults with `spec` (unset keys take their defaults); ValueError if bad."""
        plan = _copy(DEFAULTS)
        for key, value in spec.items():
            if key not in DEFAULTS:
                raise ValueError(f"Unknown fault {key!r}; known: {', '.join(DEFAULTS)}")
            plan[key] = _checked(key, value)
        with self._lock:
            self._plan = plan
            return _copy(plan)

    def snapshot(self) -> dict:
        with self._lock:
            return _copy(self._plan)

    def decide(self, endpoint: str) -> Injection:
        with self._lock:
            plan = self._plan
            if plan["endpoints"] is not None and endpoint not in plan["endpoints"]:
                return Injection()
            injection = Injection(delay=plan["latency_ms"] / 1000)
            status = plan["next_statuses"].pop(0) if plan["next_statuses"] else None
            if status is None:
                if plan["drop_connection"]:
                    status = 0
                elif plan["force_429"]:
                    status = 429
                elif plan["error_rate"] and self._rng.random() < plan["error_rate"]:
                    status = plan["error_status"]
            retry_after = plan["retry_after"]
            spoil = MALFORMED_BODY if plan["malformed_json"] else (
                WRONG_SHAPE_BODY if plan["wrong_shape"] else None)
        if status == 0:
            injection.drop = True
        elif status is not None and status >= 400:
            injection.response = _injected(status, retry_after)
        else:
            injection.spoil = spoil
        return injection


def _injected(status: int, retry_after: float) -> Response:
    headers = {}
    if status == 429:
        headers = {"Retry-After": str(max(0, math.ceil(retry_after))),
                   "X-Rate-Limit-Type": LIMIT_TYPE, "X-Rate-Limit-Remaining": "0"}
    return error(status, f"Injected fault: HTTP {status}", headers=headers)


def _checked(key: str, value: object) -> object:
    if key in ("force_429", "malformed_json", "wrong_shape", "drop_connection"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if key == "next_statuses":
        if not isinstance(value, list) or not all(_is_status(v, allow_zero=True) for v in value):
            raise ValueError("next_statuses must be a list of HTTP statuses (0: drop)")
        return list(value)
    if key == "endpoints":
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ValueError("endpoints must be a list of route templates")
        return None if value is None else list(value)
    if key == "error_status":
        if not _is_status(value):
            raise ValueError("error_status must be an HTTP status")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number")
    if key == "error_rate" and value > 1:
        raise ValueError("error_rate is a share between 0 and 1")
    return value


def _is_status(value: object, allow_zero: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return (allow_zero and value == 0) or 100 <= value <= 599


def _copy(plan: dict) -> dict:
    return {key: list(value) if isinstance(value, list) else value for key, value in plan.items()}
