"""Voucherify's per-minute request limit over a fixed 60-second window."""

from __future__ import annotations

import math
import threading

WINDOW_SECONDS = 60
LIMIT_TYPE = "requests_per_minute"


class RateLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._window_start: float | None = None
            self._count = 0

    def hit(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count one request at `now` (epoch seconds): (allowed, headers for the response)."""
        with self._lock:
            if self._window_start is None or now >= self._window_start + WINDOW_SECONDS:
                self._window_start, self._count = now, 0
            self._count += 1
            window_end = self._window_start + WINDOW_SECONDS
            allowed = self._count <= self.limit
            headers = {
                "X-Rate-Limit-Limit": str(self.limit),
                "X-Rate-Limit-Remaining": str(max(0, self.limit - self._count)),
                "X-Rate-Limit-Retry": str(math.ceil(window_end)),
            }
            if not allowed:
                headers["Retry-After"] = str(max(1, math.ceil(window_end - now)))
                headers["X-Rate-Limit-Type"] = LIMIT_TYPE
            return allowed, headers
