"""What the emulator was asked: counts per (method, route, status) and a timeline."""

from __future__ import annotations

import threading
from collections import Counter, deque

TIMELINE_SIZE = 200_000  # the oldest entries go first in a long-running demo


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._counts: Counter[tuple[str, str, int]] = Counter()
            self._timeline: deque[list] = deque(maxlen=TIMELINE_SIZE)

    def record(self, when: float, method: str, endpoint: str, status: int) -> None:
        """`status` 0 stands for a connection dropped without an answer."""
        with self._lock:
            self._counts[(method, endpoint, status)] += 1
            self._timeline.append([when, method, endpoint, status])

    def snapshot(self) -> dict:
        with self._lock:
            rows = [
                {"method": method, "endpoint": endpoint, "status": status, "count": count}
                for (method, endpoint, status), count in sorted(self._counts.items())
            ]
            return {
                "total": sum(self._counts.values()),
                "requests": rows,
                "timeline": list(self._timeline),
            }
