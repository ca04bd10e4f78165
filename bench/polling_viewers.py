"""Simulated viewers: the HTTP requests open htmx pages make, issued by a thread pool."""

from __future__ import annotations

import heapq
import html
import http.client
import random
import re
import threading
import time
from dataclasses import dataclass, field

PANEL_STATUS = re.compile(r'detail-state">.*?status-([A-Z_]+)', re.S)
LIVE_POLLER = re.compile(r'id="live-poller"[^>]*hx-get="([^"]+)"')
TERMINAL = ("DONE", "FAILED")
STOP_POLLING = 286


@dataclass(order=True)
class Poll:
    """One periodic request of one viewer: a detail panel, or the list's live rows."""

    due: float
    seq: int
    viewer: int = field(compare=False)
    path: str = field(compare=False)
    action_id: str | None = field(compare=False, default=None)
    seen: str = field(compare=False, default="")


@dataclass
class Results:
    poll_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    seen_terminal: dict[tuple[int, str], float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    polls: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Viewers:
    def __init__(self, port: int, cookie: str, *, viewers: int, action_ids: list[str],
                 interval: float, threads: int) -> None:
        self.port, self.cookie = port, cookie
        self.viewers, self.action_ids, self.interval = viewers, action_ids, interval
        self.threads = threads
        self.results = Results()
        self._queue: list[Poll] = []
        self._seq = 0
        self._lock = threading.Condition()
        self._local = threading.local()
        self._end = 0.0

    # --- HTTP --------------------------------------------------------------------------

    def _get(self, path: str, *, htmx: bool) -> tuple[int, str, float]:
        headers = {"Cookie": self.cookie}
        if htmx:
            headers["HX-Request"] = "true"
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                self._local.connection = None
            return response.status, body, elapsed
        raise AssertionError("unreachable")

    # --- scheduling --------------------------------------------------------------------

    def _schedule(self, poll: Poll, due: float) -> None:
        with self._lock:
            if due >= self._end:
                return
            self._seq += 1
            poll.due, poll.seq = due, self._seq
            heapq.heappush(self._queue, poll)
            self._lock.notify()

    def _next(self) -> Poll | None:
        with self._lock:
            while True:
                now = time.time()
                if now >= self._end:
                    return None
                if self._queue and self._queue[0].due <= now:
                    return heapq.heappop(self._queue)
                wait = (self._queue[0].due - now) if self._queue else self._end - now
                self._lock.wait(min(wait, self._end - now))

    def _worker(self) -> None:
        while (poll := self._next()) is not None:
            try:
                self._poll(poll)
            except Exception as exc:  # noqa: BLE001 (counted, the run goes on)
                self.results.error(type(exc).__name__)
                self._schedule(poll, time.time() + self.interval)

    def _poll(self, poll: Poll) -> None:
        path = poll.path
        if poll.action_id is not None and poll.seen:
            path = f"{path}?seen={poll.seen}"
        status, body, elapsed = self._get(path, htmx=True)
        received = time.time()
        self.results.poll_ms.append(elapsed)
        self.results.polls += 1
        if status not in (200, STOP_POLLING):
            self.results.error(f"HTTP {status}")
        if poll.action_id is not None:
            found = PANEL_STATUS.search(body)
            if found:
                poll.seen = found.group(1)
                if poll.seen in TERMINAL:
                    self.results.seen_terminal.setdefault((poll.viewer, poll.action_id), received)
        else:
            following = LIVE_POLLER.search(body)
            if following:
                poll.path = html.unescape(following.group(1))
        if status != STOP_POLLING:
            self._schedule(poll, poll.due + self.interval if poll.due + self.interval > received
                           else received)

    def _open_pages(self, viewer: int) -> None:
        """What a person does first: the list page, then one detail page per panel."""
        status, body, elapsed = self._get("/actions/", htmx=False)
        self.results.page_ms.append(elapsed)
        if status != 200:
            self.results.error(f"list page HTTP {status}")
        live = LIVE_POLLER.search(body)
        start = time.time()
        if live:
            self._schedule(Poll(0, 0, viewer, html.unescape(live.group(1))),
                           start + self.interval)
        for action_id in self.action_ids:
            status, _, elapsed = self._get(f"/actions/{action_id}/", htmx=False)
            self.results.page_ms.append(elapsed)
            if status != 200:
                self.results.error(f"detail page HTTP {status}")
            self._schedule(Poll(0, 0, viewer, f"/actions/{action_id}/", action_id),
                           start + self.interval * random.random())

    def run(self, seconds: float) -> Results:
        """Viewers arrive over the first interval, then poll until `seconds` have passed."""
        started = time.time()
        self._end = started + seconds
        arrivals = sorted(random.random() * self.interval for _ in range(self.viewers))
        openers = []
        for viewer, offset in enumerate(arrivals):
            opener = threading.Thread(target=self._open_later, args=(viewer, started + offset))
            opener.start()
            openers.append(opener)
        workers = [threading.Thread(target=self._worker) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for thread in openers + workers:
            thread.join()
        return self.results

    def _open_later(self, viewer: int, when: float) -> None:
        time.sleep(max(0.0, when - time.time()))
        try:
            self._open_pages(viewer)
        except Exception as exc:  # noqa: BLE001
            self.results.error(f"opening: {type(exc).__name__}")
