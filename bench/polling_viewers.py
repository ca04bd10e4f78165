"""Simulated viewers polling as htmx does, on asyncio: each viewer its own logged-in session
and its own keep-alive connections (at most 6, a browser's limit per host).

A poller is one element with `hx-trigger="every Ns"`: the list's live rows, or one detail
panel. As htmx does: an answer that swaps the element (outerHTML) starts the new element's
timer when it arrives, at the interval the new element asks for (so the server can slow
clients down); 286 stops the poller (the panel's action finished: the viewer then opens
another running action from its own list, as a person would, or with `open_from="schedule"`
any the emulator runs, listed yet or not); an answer that swaps nothing (204, or
`HX-Reswap: none`) leaves the old element's timer running from when it fired.

Every state a viewer is shown (status and progress, in panels and list rows) is compared
with the emulator's own schedule for that action (`Truth`), so each upstream change gets
the delay until a viewer first showed it or something newer.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.polling import align

TRIGGER_EVERY = re.compile(r"every\s+([0-9.]+)(ms|s)")
TRIGGER_LOAD_DELAY = re.compile(r"load\s+delay:([0-9.]+)(ms|s)")
PANEL = re.compile(r'<section id="action-panel"[^>]*>', re.S)
LIVE_POLLER = re.compile(r'<div id="live-poller"[^>]*>', re.S)
ATTRIBUTE = '{}="([^"]*)"'
HX_VALS = re.compile(r"""hx-vals=(?:'([^']*)'|"([^"]*)")""")
PANEL_STATE = re.compile(r'detail-state">(.*?)</p>', re.S)
ROW = re.compile(r'<tr id="row-([^"]+)"[^>]*data-status="([A-Z_]+)"[^>]*>(.*?)</tr>', re.S)
PROGRESS = re.compile(r'<progress[^>]*value="(\d+)"')
STATUS_CLASS = re.compile(r'status-([A-Z_]+)')
STOP_POLLING = 286
TERMINAL = ("DONE", "FAILED")
MAX_CONNECTIONS = 6  # per viewer, like a browser's HTTP/1.1 limit per host


def attribute(tag: str, name: str) -> str | None:
    found = re.search(ATTRIBUTE.format(name), tag)
    return html.unescape(found.group(1)) if found else None


def poll_path(tag: str) -> str | None:
    """hx-get with the element's hx-vals added to its query, as htmx sends a GET."""
    path = attribute(tag, "hx-get")
    found = HX_VALS.search(tag)
    if path is None or not found:
        return path
    values = json.loads(html.unescape(found.group(1) or found.group(2) or "{}"))
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode(values)


def early_poll_of(tag: str) -> float | None:
    """Seconds from the element's load to its one early poll (`load delay:Nms`), if any."""
    return _trigger_seconds(TRIGGER_LOAD_DELAY, tag)


def interval_of(tag: str) -> float | None:
    return _trigger_seconds(TRIGGER_EVERY, tag)


def _trigger_seconds(pattern: re.Pattern, tag: str) -> float | None:
    found = pattern.search(attribute(tag, "hx-trigger") or "")
    if not found:
        return None
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


def state_index(status: str, progress: int | None) -> int:
    """The emulator's life of an action as one number: ENQUEUED 0, IN_PROGRESS p% 1+p,
    finished 101 (dashboard/emulator/actions.py)."""
    if status in TERMINAL:
        return 101
    if status == "IN_PROGRESS":
        return 1 + min(99, progress or 0)
    return 0


@dataclass(frozen=True)
class Truth:
    """When each state of one emulator action began (created_ms + duration_ms known)."""

    created: float
    duration: float

    def began(self, index: int) -> float:
        if index >= 101:
            return self.created + self.duration
        return self.created + self.duration * (0.1 + 0.9 * (index - 1) / 100)

    def index_at(self, moment: float) -> int:
        elapsed = moment - self.created
        if elapsed >= self.duration:
            return 101
        if elapsed < self.duration * 0.1:
            return 0
        share = (elapsed / self.duration - 0.1) / 0.9
        return 1 + max(0, min(99, int(share * 100)))


@dataclass
class Figures:
    poll_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # due -> sent: the generator's delay
    lags: dict[str, list[float]] = field(default_factory=lambda: {
        "status": [], "progress": [], "row": []})
    # Of the panels' status changes, those to a final state (the ones that also read a result).
    finished: list[float] = field(default_factory=list)
    # From a watched action's finish to its panel's last answer (286), which carries the
    # result: the one read of it may wait for the results' part of the budget.
    results: list[float] = field(default_factory=list)
    # Panels shown finished whose result has not come yet: (viewer, action) -> the finish.
    results_pending: dict[tuple[int, str], float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    polls_asked: int = 0  # polls that fell due before the end
    polls_served: int = 0  # of those, answered before the end
    unchanged: int = 0  # answers that swapped nothing
    told_s: list[float] = field(default_factory=list)  # the poll interval each swap set
    early_s: list[float] = field(default_factory=list)  # each swap's early poll, when it set one

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened once when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                return await self._exchange(path, headers)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, headers: dict[str, str]) -> tuple[int, dict, str]:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed before an answer")
        status = int(status_line.split()[1])
        answer: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            answer[name.strip().lower()] = value.strip()
        if status in (204, 304) or status < 200:  # never a body (RFC 9112 6.3), as browsers know
            body = b""
        elif "content-length" in answer:
            body = await self.reader.readexactly(int(answer["content-length"]))
        elif answer.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunks()
        else:
            body = await self.reader.read()
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close":
            self.close()
        return status, answer, body.decode("utf-8", "replace")

    async def _chunks(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Viewer:
    def __init__(self, run: Run, number: int, cookie: str) -> None:
        self.run, self.number, self.cookie = run, number, cookie
        self.pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(MAX_CONNECTIONS):
            self.pool.put_nowait(Connection(run.port))
        self.watching: set[str] = set()
        self.shown: dict[tuple[str, str], int] = {}  # (where, action) -> newest index shown

    async def get(self, path: str, *, htmx: bool) -> tuple[int, dict, str, float]:
        headers = {"Cookie": self.cookie, "Connection": "keep-alive"}
        if htmx:
            headers["HX-Request"] = "true"
        connection = await self.pool.get()
        try:
            started = time.perf_counter()
            status, answer, body = await connection.get(path, headers)
            return status, answer, body, (time.perf_counter() - started) * 1000
        finally:
            self.pool.put_nowait(connection)

    def show(self, where: str, action_id: str, status: str, progress: int | None,
             moment: float, kind: str) -> None:
        """A state on screen at `moment`: every upstream change up to it not shown before
        gets its delay (changes before the viewer first looked are not counted)."""
        truth = self.run.truth.get(action_id)
        if truth is None:
            return
        index = state_index(status, progress)
        key = (where, action_id)
        before = self.shown.get(key)
        if before is None:
            self.shown[key] = index
            return
        if index <= before:
            return
        self.shown[key] = index
        if not self.run.start <= moment <= self.run.end:
            return
        for change in range(before + 1, index + 1):
            if change in (1, 101):
                self.run.figures.lags["status" if kind == "panel" else "row"].append(
                    moment - truth.began(change))
                if change == 101 and kind == "panel":
                    self.run.figures.finished.append(moment - truth.began(change))
                    self.run.figures.results_pending[(id(self), action_id)] = \
                        truth.began(change)
            elif change % self.run.progress_step == 0:
                self.run.figures.lags["progress" if kind == "panel" else "row"].append(
                    moment - truth.began(change))

    # --- the pollers -------------------------------------------------------------------

    async def open_panel(self, action_id: str) -> None:
        self.watching.add(action_id)
        status, _, body, elapsed = await self.get(f"/actions/{action_id}/", htmx=False)
        self.run.figures.page_ms.append(elapsed)
        if status != 200:
            self.run.figures.error(f"detail page HTTP {status}")
        self._panel_shown(action_id, body)
        tag = PANEL.search(body)
        if tag is None or attribute(tag.group(0), "hx-get") is None:
            return self.run.spawn(self.replace_panel(action_id))
        self.run.spawn(self.poll(tag.group(0), "panel", action_id))

    async def replace_panel(self, finished: str) -> None:
        self.watching.discard(finished)
        if time.time() >= self.run.end:
            return
        choice = self.run.live_action(exclude=self.watching, listed=self.listed_running())
        if choice is not None:
            await self.open_panel(choice)

    def listed_running(self) -> set[str]:
        """The actions this viewer's list last showed running."""
        return {action_id for (where, action_id), index in self.shown.items()
                if where == "list" and index < 101}

    async def open_list(self) -> None:
        status, _, body, elapsed = await self.get("/actions/", htmx=False)
        self.run.figures.page_ms.append(elapsed)
        if status != 200:
            self.run.figures.error(f"list page HTTP {status}")
        self._rows_shown(body)
        tag = LIVE_POLLER.search(body)
        if tag is not None and attribute(tag.group(0), "hx-get"):
            self.run.spawn(self.poll(tag.group(0), "list", None))
        else:  # nothing live on the page: the person reloads it a little later
            self.run.spawn(self.reload_list_later())

    async def reload_list_later(self) -> None:
        await asyncio.sleep(self.run.interval * 5)
        if time.time() < self.run.end:
            await self.open_list()

    async def poll(self, tag: str, kind: str, action_id: str | None) -> None:
        """One element's polling, until 286, an element without polling, or the end: its
        `every` timer, and the one early poll `load delay` asks for after its load."""
        figures = self.run.figures
        path, every = poll_path(tag), interval_of(tag) or self.run.interval
        loaded = time.time()
        due, early = loaded + every, _early(tag, loaded)
        while True:
            is_early = early is not None and early < due
            moment = early if is_early else due
            wait = moment - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            fired = time.time()
            if fired >= self.run.end:
                return
            if is_early:
                early = None  # once per element
            measured = fired >= self.run.start
            if measured:
                figures.polls_asked += 1
                figures.send_lag_ms.append((fired - moment) * 1000)
            token = object()
            self.run.waiting[token] = fired
            try:
                status, answer, body, elapsed = await self.get(path, htmx=True)
            except Exception as exc:  # noqa: BLE001 (counted; htmx would try again)
                figures.error(type(exc).__name__)
                due = due if is_early else fired + every
                continue
            finally:
                del self.run.waiting[token]
            arrived = time.time()
            if measured and arrived <= self.run.end:
                figures.polls_served += 1
                figures.poll_ms.append(elapsed)
            # The old element's timer went on from when it fired (one in flight is dropped).
            went_on = max(due if is_early else fired + every, arrived)
            if status not in (200, 204, STOP_POLLING):
                figures.error(f"HTTP {status}")
                due = went_on
                continue
            swapped = status != 204 and answer.get("hx-reswap", "") != "none" and body
            if not swapped:
                figures.unchanged += measured
                due = went_on
                continue
            if kind == "panel":
                self._panel_shown(action_id, body, arrived)
                found = PANEL.search(body)
            else:
                self._rows_shown(body, arrived)
                found = LIVE_POLLER.search(body)
            if status == STOP_POLLING and kind == "panel":
                self._result_shown(action_id, arrived)
            if status == STOP_POLLING or found is None or not attribute(found.group(0), "hx-get"):
                if kind == "panel":
                    self.run.spawn(self.replace_panel(action_id))
                else:
                    self.run.spawn(self.reload_list_later())
                return
            tag = found.group(0)
            path, every = poll_path(tag), interval_of(tag) or every
            if measured:
                figures.told_s.append(every)
                delay = early_poll_of(tag)
                if delay is not None and delay < align.NEVER_MS / 1000:  # NEVER: none set
                    figures.early_s.append(delay)
            # The new element's timers start at the swap.
            due, early = arrived + every, _early(tag, arrived)

    def _result_shown(self, action_id: str, moment: float) -> None:
        finished = self.run.figures.results_pending.pop((id(self), action_id), None)
        if finished is not None and moment <= self.run.end:
            self.run.figures.results.append(moment - finished)

    def _panel_shown(self, action_id: str, body: str, moment: float | None = None) -> None:
        state = PANEL_STATE.search(body)
        status = STATUS_CLASS.search(state.group(1)) if state else None
        if status:
            progress = PROGRESS.search(state.group(1))
            self.show("panel", action_id, status.group(1),
                      int(progress.group(1)) if progress else None, moment or time.time(),
                      "panel")

    def _rows_shown(self, body: str, moment: float | None = None) -> None:
        for action_id, status, cells in ROW.findall(body):
            progress = PROGRESS.search(cells)
            self.show("list", action_id, status, int(progress.group(1)) if progress else None,
                      moment or time.time(), "row")


def _early(tag: str, loaded: float) -> float | None:
    delay = early_poll_of(tag)
    return None if delay is None else loaded + delay


class Run:
    """All viewers of one measured run, and the live actions they watch."""

    def __init__(self, port: int, cookies: list[str], *, panels: int, interval: float,
                 live_actions: Callable[[], list[str]], truth: dict[str, Truth],
                 progress_step: int = 1, open_from: str = "list") -> None:
        self.port, self.cookies, self.panels, self.interval = port, cookies, panels, interval
        self.open_from = open_from  # "list": what the viewer's list shows; "schedule": any
        self._live_actions = live_actions
        self.truth = truth
        self.progress_step = progress_step  # 1: every progress step is timed
        self.figures = Figures()
        self.start = float("inf")  # the measured window: from when the page loads' backlog
        self.end = float("inf")  # is drained
        self.waiting: dict[object, float] = {}  # polls sent and not yet answered -> sent at
        self.pages_seconds = 0.0  # from the first arrival to the last page answered
        self.drain_seconds = 0.0  # from then until no poll waited longer than an interval
        self.drained = False
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.figures.error(f"viewer: {type(task.exception()).__name__}")

    async def run_arrival(self, viewer: Viewer, spread: float) -> None:
        try:
            await self.arrive(viewer, random.random() * spread)
        except Exception as exc:  # noqa: BLE001 (counted, the run goes on)
            self.figures.error(f"opening: {type(exc).__name__}")

    def live_action(self, exclude: set[str], listed: set[str] | None = None) -> str | None:
        """A running action to open (not about to finish): one of `listed` when the run opens
        from the list and the list shows one, else any the emulator runs."""
        now = time.time()
        choices = [a for a in self._live_actions()
                   if a not in exclude and self.truth[a].index_at(now + 5) < 101]
        if self.open_from == "list" and listed:
            choices = [a for a in choices if a in listed] or choices
        return random.choice(choices) if choices else None

    async def arrive(self, viewer: Viewer, delay: float) -> None:
        """The list and P detail pages, opened together as tabs (6 connections at most)."""
        await asyncio.sleep(delay)
        opening = [viewer.open_list()]
        for _ in range(self.panels):
            choice = self.live_action(exclude=viewer.watching)
            if choice is None:
                break
            viewer.watching.add(choice)
            opening.append(viewer.open_panel(choice))
        await asyncio.gather(*opening)

    async def run(self, seconds: float, *, arrivals_over: float = 0.0,
                  drain_limit: float = 120.0) -> Figures:
        """Viewers arrive over `arrivals_over` seconds (at least one interval) and open their
        pages; polls are measured for `seconds` from when the page loads' backlog is drained
        (not measured: page loads are a burst no poll competes with later)."""
        viewers = [Viewer(self, n, cookie) for n, cookie in enumerate(self.cookies)]
        began = time.time()
        arrivals = [self.run_arrival(viewer, max(arrivals_over, self.interval))
                    for viewer in viewers]
        await asyncio.gather(*arrivals, return_exceptions=True)
        self.pages_seconds = time.time() - began
        await self.drain(drain_limit)
        self.start = time.time()
        self.end = self.start + seconds
        await asyncio.sleep(seconds)
        await asyncio.sleep(min(5.0, self.interval * 2))  # answers in flight at the end
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for viewer in viewers:
            while not viewer.pool.empty():
                viewer.pool.get_nowait().close()
        return self.figures

    async def drain(self, limit: float) -> None:
        """Wait (at most `limit` s) until, for a whole interval, no poll has waited for its
        answer longer than one interval: the backlog the page loads left is served."""
        started = time.time()
        calm_since = None
        while time.time() - started < limit:
            now = time.time()
            oldest = min(self.waiting.values(), default=now)
            if now - oldest > self.interval:
                calm_since = None
            elif calm_since is None:
                calm_since = now
            elif now - calm_since >= self.interval:
                self.drained = True
                break
            await asyncio.sleep(0.1)
        self.drain_seconds = time.time() - started
