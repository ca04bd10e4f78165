"""The emulator's actions: a seeded history plus live ones whose state follows the clock."""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from .live_actions import Action, VerbatimAction
from .results import hex_id
from .seed import DEFAULT_SEED, live_arrival, new_action, seed_history
from .timeutil import to_ms

Clock = Callable[[], datetime]
MAX_CATCH_UP = 5_000  # arrivals materialised at most after a long jump of the clock


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Thread-safe; new actions arrive every `live_every` seconds (0: never), derived from
    the clock rather than from a background thread."""

    def __init__(self, seed: int = DEFAULT_SEED, live_every: float = 60,
                 clock: Clock | None = None) -> None:
        self.seed = seed
        self.clock = clock or utc_now
        self.start_ms = to_ms(self.clock())
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}/created")
        # Ids of created actions never repeat across runs, as Voucherify's do not: a dashboard
        # whose archive outlived an emulator restart must not mistake a new action for an old.
        self._ids = random.SystemRandom()
        self.reset(live_every)

    def now_ms(self) -> int:
        return to_ms(self.clock())

    def reset(self, live_every: float | None = None) -> None:
        """Back to the seeded history; arrivals count again from now."""
        with self._lock:
            if live_every is not None:
                self.live_every = float(live_every)
            self._actions: dict[str, Action | VerbatimAction] = {}
            self._keys: list[tuple[int, str]] = []  # (created_ms, id), ascending
            in_flight = self.live_every > 0
            for action in seed_history(self.seed, self.start_ms, in_flight=in_flight):
                self._put(action)
            self._arrival_origin, self._arrivals, self._schedule = self.now_ms(), 0, 0

    def set_live_every(self, seconds: float) -> None:
        with self._lock:
            self._catch_up(self.now_ms())
            self.live_every = float(seconds)
            self._arrival_origin, self._arrivals = self.now_ms(), 0
            self._schedule += 1  # a new schedule: arrivals get fresh ids

    def list_actions(self, limit: int, before_ms: int | None = None) -> tuple[list[dict], bool]:
        """Newest first (ties: id descending), only those created strictly before `before_ms`."""
        with self._lock:
            now = self.now_ms()
            self._catch_up(now)
            end = len(self._keys) if before_ms is None else bisect.bisect_left(
                self._keys, (before_ms, "")
            )
            keys = self._keys[max(0, end - limit):end][::-1]
            items = [self._actions[key[1]].render(now, detail=False) for key in keys]
            return items, end > limit

    def get_action(self, action_id: str) -> dict | None:
        with self._lock:
            now = self.now_ms()
            self._catch_up(now)
            action = self._actions.get(action_id)
            return action.render(now) if action else None

    def create_action(self, action_type: str, outcome: str = "DONE", duration: float = 5,
                      **fields) -> dict:
        """A live action starting now; `result`, `user`, `log_id`, `request_id` optional."""
        with self._lock:
            now = self.now_ms()
            action = new_action(self._rng, action_type, now, int(duration * 1000), outcome,
                                action_id=hex_id(self._ids, "aa_"), **fields)
            self._put(action)
            return action.render(now)

    def insert_action(self, body: dict) -> dict:
        """Store an exact object (replacing one with the same id) and return it."""
        with self._lock:
            action = VerbatimAction(dict(body))
            self._put(action)
            return action.render(self.now_ms())

    def ids(self) -> list[str]:
        """Every id, newest first (for tests)."""
        with self._lock:
            self._catch_up(self.now_ms())
            return [key[1] for key in reversed(self._keys)]

    def _put(self, action: Action | VerbatimAction) -> None:
        old = self._actions.get(action.id)
        if old is not None:
            self._keys.remove((old.created_ms, old.id))
        self._actions[action.id] = action
        bisect.insort(self._keys, (action.created_ms, action.id))

    def _catch_up(self, now_ms: int) -> None:
        if self.live_every <= 0:
            return
        every_ms = int(self.live_every * 1000)
        due = (now_ms - self._arrival_origin) // every_ms
        self._arrivals = max(self._arrivals, due - MAX_CATCH_UP)
        while self._arrivals < due:
            self._arrivals += 1
            created = self._arrival_origin + self._arrivals * every_ms
            self._put(live_arrival(self.seed, f"{self._schedule}/{self._arrivals}", created))
