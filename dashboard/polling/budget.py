"""A hard per-minute budget of upstream calls, shared by every process through the cache.

The bucket is a sliding window of per-second counters (`polling:spent:<epoch second>`). To
spend, a caller first increments the current second's counter (atomic in Redis and in local
memory), then sums the last 61 seconds; over the allowance it takes its increment back and is
refused. Because every caller counts itself before it looks, two callers racing for the last
token can both be refused, never both let through: the window never holds more spent calls
than the cap. 61 counters, not 60, so that any 60 s of real time is covered whatever the
sub-second phase.

Each asker gets a fair share of the same window (dashboard/polling/askers.py): polls may
spend at most VOUCHERIFY_POLL_SHARE of it and background work VOUCHERIFY_SYNC_SHARE; one
person (user or session) VOUCHERIFY_USER_SHARE, and beyond that only while another such share
is left unspent for everyone else (so a lone viewer's polls are not cut short, yet one session
asking for id after unknown id cannot spend the minute everyone else's pages need). Each is
counted with per-second counters of its own beside the shared ones, in the same way.

Polls are also paced: their refreshes spend at most VOUCHERIFY_POLL_BURST calls in any few
seconds. A sliding window alone keeps the shape of a burst: calls spent together leave it
together a minute later and are spent together again, so the minute turns into a burst of
refreshes and a long stall, and every open panel goes stale through the stall. Paced, the
polls' refreshes stay spread over the minute, each panel's data a couple of seconds old.
The pace leaves VOUCHERIFY_RESULT_SHARE of the polls' share to the one read of each finished
action's result, counted apart: were results taken from the same calls, each would push the
window over the share and hold every refresh back until it slid (a stall of ten seconds and
more, every few minutes, with the actions finishing that a busy project has).

While the shared cache cannot be reached (dashboard/sharedcache.py) every process counts on
its own in local memory, so the cap is VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE per process; the
calls the shared window held when it went away take their part of that cap (its part of the
whole cap), the calls spent meanwhile are added to it when it answers again, and a 429's
moment is kept in each process's memory too.

Besides its own cap the budget obeys the upstream: no call before a 429's retry moment, and
none while X-Rate-Limit-Remaining says no more than VOUCHERIFY_UPSTREAM_RESERVE are left.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from dashboard import hot, sharedcache
from dashboard.counters import bump
from dashboard.voucherify.errors import (
    BudgetExhaustedError,
    PacedError,
    ShareExhaustedError,
)
from dashboard.voucherify.models import RateLimitState

from . import askers, failing, store

WINDOW_SECONDS = 61
COUNTER_TTL = 2 * WINDOW_SECONDS
RETRY_AT_KEY = store.key("retry_at")
PANELS_KEY = store.key("panels-want-results")
RATE_STATE_KEY = store.key("rate_limit")
# What the cache knows of the upstream, read before every call (_upstream_state).
_UPSTREAM_STATE_KEYS = [RETRY_AT_KEY, RATE_STATE_KEY, failing.KEY, PANELS_KEY]
# With no X-Rate-Limit-Retry, a low Remaining is believed for this long.
UPSTREAM_WINDOW_SECONDS = 60.0
# The latest 429 retry moment this process noted or read, kept in its own memory too: the
# hold must outlast the shared cache going away (the local fallback starts empty) or coming
# back (without what was noted in the fallback meanwhile).
_retry_at_here = 0.0
_memory_lock = threading.Lock()
# The shared window as this process last read it (epoch second -> calls). While the shared
# cache is away each process's outage cap is its part of the budget, and the calls the window
# held when it went away take their part of that cap (_part_seen), or every process would
# spend its whole outage cap on top of a minute already spent.
_shared_seen: dict[int, int] = {}
# The calls this process spent from its own memory during an outage (epoch second -> calls):
# added to the shared window when the shared cache answers again (the local one is emptied).
_outage_spent: dict[int, int] = {}


@dataclass(frozen=True)
class Allowance:
    cap: int
    reserve: int

    def for_priority(self, background: bool) -> int:
        return self.cap - self.reserve if background else self.cap


def allowance() -> Allowance:
    cap = int(settings.VOUCHERIFY_CALLS_PER_MINUTE)
    if sharedcache.degraded():  # counted per process now: a conservative part of the cap
        cap = min(cap, int(settings.VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE))
    reserve = min(int(settings.VOUCHERIFY_BUDGET_RESERVE), cap - 1)
    return Allowance(cap=cap, reserve=max(0, reserve))


def share(fraction: float, cap: int) -> int:
    """A share of the window: never fewer than 2 calls (a page and its detail), nor the cap."""
    return min(cap, max(2, math.ceil(cap * fraction)))


_PURPOSE_SHARES = {askers.POLL: "VOUCHERIFY_POLL_SHARE", askers.SYNC: "VOUCHERIFY_SYNC_SHARE"}
_PURPOSE_LABELS = {askers.POLL: "live updates", askers.SYNC: "background work"}
# The polls' calls counted apart within their share (see the module's docstring).
REFRESHES, RESULTS = "refresh", "result"
# Within the results' part, the list's reads of finished rows' results (nobody has opened
# those rows) are counted apart too: while someone has a running action's page open (within
# the window: PANELS_KEY), they leave a third of the part to that panel's result.
LISTED = "listed"
PANELS_MARK_SECONDS = 10.0  # how often a process renews the mark while panels are open
_PANELS_MARKED = hot.MEMO_PREFIX + "panels-marked"  # held while this process's mark is fresh
_PART_LABELS = {REFRESHES: "live updates", RESULTS: "results of finished actions",
                LISTED: "results of finished rows on the list"}


@dataclass(frozen=True)
class Scope:
    """One window of per-second counters, and how many calls it may hold."""

    parts: tuple[str, ...]  # () for the budget everyone shares
    allowed: int
    # Beyond `allowed`, calls still pass while this many stay unspent in the shared window for
    # everyone else (None: never): a share limits a person only when others could need it.
    spare: int | None = None
    seconds: int = WINDOW_SECONDS  # counted over the last this many seconds (a pace: fewer)


def _scopes(background: bool, asker: askers.Asker, result: bool = False,
            listed: bool = False) -> list[Scope]:
    """The windows a call of this asker is counted in; the shared one first. `listed`: a
    result read for a list row (see LISTED)."""
    whole = allowance()
    scopes = [Scope((), whole.for_priority(background))]
    if asker.purpose in _PURPOSE_SHARES:
        purpose = _purpose_scope(asker.purpose, whole.cap)
        scopes.append(purpose)
        if asker.purpose == askers.POLL:
            # A result is read once and is not put off by the pace, but it has calls of its
            # own; any other poll's call refreshes live data, at the pace.
            scopes.extend(_poll_parts(purpose, result=result, listed=listed)
                          if result or background else [])
    if asker.person is not None:
        fraction = float(settings.VOUCHERIFY_USER_SHARE)
        person_share = share(fraction, whole.cap)
        scopes.append(Scope(("person", asker.person), person_share, spare=person_share))
    return scopes


def _purpose_scope(purpose: str, cap: int) -> Scope:
    fraction = float(getattr(settings, _PURPOSE_SHARES[purpose]))
    return Scope(("purpose", purpose), share(fraction, cap))


@dataclass(frozen=True)
class PollPace:
    """How the polls' share is split: refreshes, `burst` calls every `seconds` at most, and
    `results` calls a window for finished actions' results (what the refreshes' pace leaves)."""

    burst: int
    seconds: int
    results: int


def poll_pace(share_allowed: int | None = None) -> PollPace | None:
    """The split of the polls' share (None: no pace, with a burst of 0 or one as large as the
    refreshes' part; then only the share itself counts)."""
    allowed = (_purpose_scope(askers.POLL, allowance().cap).allowed
               if share_allowed is None else share_allowed)
    burst = int(settings.VOUCHERIFY_POLL_BURST)
    results = min(allowed - 1, math.ceil(allowed * float(settings.VOUCHERIFY_RESULT_SHARE)))
    refreshes = allowed - results  # results is 1 to allowed - 1 (a share is at least 2)
    if burst <= 0 or burst >= refreshes:
        return None
    # Whole seconds (the counters'), rounded up so that the refreshes fit their part.
    seconds = math.ceil(WINDOW_SECONDS * burst / refreshes)
    most = burst * math.ceil(WINDOW_SECONDS / seconds)
    return PollPace(burst, seconds, max(1, allowed - most))


def kept_for_panels(results: int) -> int:
    """Calls of a results' part of `results` that the list's reads leave to open panels while
    there are some: a third, none of a part too small to split (the list would read no
    result)."""
    return results // 3


def note_panel_open() -> None:
    """A person has a running action's page open: its result will be wanted when it finishes,
    so for the next minute the list's result reads leave part of theirs (LISTED). A round trip
    per process every PANELS_MARK_SECONDS at most (every time with the per-process memory off,
    as in the tests)."""
    if hot.get(_PANELS_MARKED):
        return
    cache.set(PANELS_KEY, store.now(), WINDOW_SECONDS)
    hot.put(_PANELS_MARKED, True, PANELS_MARK_SECONDS)


def _poll_parts(purpose: Scope, *, result: bool, listed: bool = False) -> list[Scope]:
    pace = poll_pace(purpose.allowed)
    if pace is None:
        return []
    if result:
        part = Scope((*purpose.parts, RESULTS), pace.results)
        if not listed:
            return [part]
        return [part, Scope((*part.parts, LISTED), pace.results - kept_for_panels(pace.results))]
    return [Scope((*purpose.parts, REFRESHES), pace.burst, seconds=pace.seconds)]


# A refresh put off by the pace is still "as fresh as the pace lets anyone's data be" while it
# is younger than this many of the refreshes' slots: the next ones may go to other live reads
# (the window, an action off the newest page) before it.
PACED_SLOTS = 3


def paced_fresh_seconds() -> int:
    """How old, beyond the poll interval, data whose refresh the pace put off may be and still
    be served as fresh (0: live updates are not paced)."""
    pace = poll_pace()
    return 0 if pace is None else pace.seconds * math.ceil(PACED_SLOTS / pace.burst)


def upstream_reserve() -> int:
    return int(settings.VOUCHERIFY_UPSTREAM_RESERVE)


def _counter(second: int, parts: tuple[str, ...] = ()) -> str:
    return store.key("spent", *parts, second)


def _window(now: float, parts: tuple[str, ...] = (), seconds: int = WINDOW_SECONDS) -> list[str]:
    current = int(now)
    return [_counter(second, parts) for second in range(current - seconds + 1, current + 1)]


def spent_by_second(
    now: float | None = None, parts: tuple[str, ...] = (), seconds: int = WINDOW_SECONDS
) -> dict[int, int]:
    """Calls spent in each second of the window (seconds with none are left out)."""
    now = store.now() if now is None else now
    window = _window(now, parts, seconds)
    by_second = _by_second(window, cache.get_many(window))
    return by_second if parts else _with_part_seen(by_second, now, seconds)


def _by_second(window: list[str], found: dict[str, object]) -> dict[int, int]:
    """The counts `found` of the window's counters, by second (seconds with none left out)."""
    return {int(name.rsplit(":", 1)[1]): int(found[name]) for name in window if found.get(name)}


def _with_part_seen(by_second: dict[int, int], now: float, seconds: int) -> dict[int, int]:
    """The shared window's counts, as read: remembered while the shared cache answers; during
    an outage (the local window) with this process's part of what it last saw added."""
    global _shared_seen
    if not sharedcache.degraded():
        if seconds == WINDOW_SECONDS:
            _shared_seen = by_second
        return by_second
    merged = dict(by_second)
    for second, count in _part_seen(now, seconds).items():
        merged[second] = merged.get(second, 0) + count
    return merged


def _part_seen(now: float, seconds: int) -> dict[int, int]:
    """This process's part (its outage cap's of the whole cap, rounded up) of the calls the
    shared window last held, in the seconds of the window ending `now`."""
    whole = int(settings.VOUCHERIFY_CALLS_PER_MINUTE)
    first, last = int(now) - seconds + 1, int(now)
    within = {second: count for second, count in _shared_seen.items() if first <= second <= last}
    held = sum(within.values())
    if held <= 0:
        return {}
    latest = max(within)  # counted at the last second that held calls: it leaves last
    return {latest: math.ceil(held * allowance().cap / whole)}


def spent(now: float | None = None) -> int:
    return sum(spent_by_second(now).values())


def tokens_left(now: float | None = None) -> int:
    return max(0, allowance().cap - spent(now))


def blocked_until(now: float | None = None) -> float | None:
    """Epoch second before which no call may be made (429 or upstream reserve), else None."""
    now = store.now() if now is None else now
    return _blocked_until(now, _upstream_state())


def held_and_failing(now: float) -> tuple[float, bool]:
    """(seconds_held, whether the upstream is failing lately: failing.py), in one round trip."""
    found = _upstream_state()
    until = _blocked_until(now, found)
    return (0.0 if until is None else max(0.0, until - now)), failing.KEY in found


def _upstream_state() -> dict[str, object]:
    """What the cache knows of the upstream: one round trip, before every call (the failing
    mark read with it lets a successful call skip unmarking it, failing.py; the open panels'
    mark, whether the list's result reads leave part of theirs, LISTED)."""
    return cache.get_many(_UPSTREAM_STATE_KEYS)


def _blocked_until(now: float, found: dict[str, object]) -> float | None:
    moments = [_retry_moment(found.get(RETRY_AT_KEY))]
    state = _rate_state_of(found.get(RATE_STATE_KEY))
    if state is not None and state.remaining is not None and state.remaining <= upstream_reserve():
        until = state.retry_at or state.observed_at + timedelta(seconds=UPSTREAM_WINDOW_SECONDS)
        moments.append(until.timestamp())
    future = [moment for moment in moments if isinstance(moment, int | float) and moment > now]
    return max(future) if future else None


def seconds_until_tokens(background: bool, now: float | None = None) -> float:
    """How long until a call of this priority could be spent (0 when it can be now)."""
    now = store.now() if now is None else now
    return max(seconds_held(now), seconds_until_room(background, now))


def seconds_held(now: float) -> float:
    """How long the upstream still holds every call back (a 429, Remaining at the reserve)."""
    return held_and_failing(now)[0]


def seconds_until_room(background: bool, now: float) -> float:
    """How long until the dashboard's own window has a call for this priority."""
    return _seconds_until_room(spent_by_second(now), allowance().for_priority(background), now)


def _seconds_until_room(
    by_second: dict[int, int], allowed: int, now: float, seconds: int = WINDOW_SECONDS
) -> float:
    """How long until a window of `seconds` spent `by_second` holds fewer than `allowed`."""
    wait = 0.0
    excess = sum(by_second.values()) - allowed + 1
    for second in sorted(by_second):
        if excess <= 0:
            break
        excess -= by_second[second]
        wait = second + seconds - now
    return wait


def spend(*, background: bool, result: bool = False, listed: bool = False) -> None:
    """Take one token or raise BudgetExhaustedError; never lets the shared window exceed the
    cap, nor the asker's own windows their shares. `result`: the call reads a finished
    action's result (counted apart from a poll's refreshes); `listed`: for a list row."""
    _spend(background, result, listed, again=False)


def _spend(background: bool, result: bool, listed: bool, *, again: bool) -> None:
    """`again`: counted anew after Redis went away or came back during the first count."""
    now = store.now()
    outage = sharedcache.degraded()
    if _outage_spent and not outage:
        _carry_outage_spent(now)
    scopes = _scopes(background, askers.current(), result, listed)
    names = list(dict.fromkeys(_counter(int(now), scope.parts) for scope in scopes))
    windows = [_window(now, scope.parts, scope.seconds) for scope in scopes]
    # The call counted in each of its windows, the windows and what the cache knows of the
    # upstream read, in one round trip: a call held back gives its counts back (rare).
    _, found = sharedcache.bump_and_get_many(
        cache, names, COUNTER_TTL,
        [*_UPSTREAM_STATE_KEYS, *dict.fromkeys(name for window in windows for name in window)])
    if sharedcache.degraded() != outage and not again:
        # Redis went away (or came back) during that trip: the windows and their allowances
        # are the other mode's (the outage's smaller cap), so count the call as that mode does.
        _give_back(names)
        return _spend(background, result, listed, again=True)
    failing.saw(found)
    until = _blocked_until(now, found)
    if until is not None:
        _give_back(names)
        raise _short(until - now, "Voucherify asked the dashboard to hold back", until=until)
    panels_open = PANELS_KEY in found
    spent_in = [sum(_by_second(window, found).values()) for window in windows[1:]]
    # scopes[0]: the window everyone shares (with, during an outage, what it last held)
    shared = sum(_with_part_seen(_by_second(windows[0], found), now, scopes[0].seconds).values())
    spent_in.insert(0, shared)
    for scope, spent_there in zip(scopes, spent_in, strict=True):
        if spent_there <= scope.allowed or (scope.parts[-1:] == (LISTED,) and not panels_open):
            continue
        if scope.spare is not None and allowance().cap - shared >= scope.spare:
            continue
        _give_back(names)
        raise _refusal(scope, max(1.0, _seconds_until_let_through(scope, now)))
    if sharedcache.degraded():
        _note_outage_call(int(now))


def _note_outage_call(second: int) -> None:
    """One call spent from local memory, kept to be added to the shared window: only the
    seconds still in the window (an outage of days would otherwise keep one per second)."""
    global _outage_spent
    with _memory_lock:
        if len(_outage_spent) > WINDOW_SECONDS:
            _outage_spent = {at: n for at, n in _outage_spent.items()
                             if at > second - WINDOW_SECONDS}
        _outage_spent[second] = _outage_spent.get(second, 0) + 1


def _carry_outage_spent(now: float) -> None:
    """Add the calls this process spent during an outage to the shared window."""
    global _outage_spent
    with _memory_lock:
        taken, _outage_spent = _outage_spent, {}
    for second, count in taken.items():
        if second > int(now) - WINDOW_SECONDS:  # else it left the window already
            bump(_counter(second), COUNTER_TTL, count)


def _seconds_until_let_through(scope: Scope, now: float) -> float:
    own = _seconds_until_room(spent_by_second(now, scope.parts, scope.seconds), scope.allowed,
                              now, scope.seconds)
    if scope.spare is None:
        return own
    others = _seconds_until_room(spent_by_second(now), allowance().cap - scope.spare, now)
    return min(own, others)


def _give_back(names: list[str]) -> None:
    """The counts of a call refused after it was counted, taken back (one round trip)."""
    sharedcache.bump_and_get_many(cache, names, COUNTER_TTL, [], by=-1)


def _refusal(scope: Scope, wait: float) -> BudgetExhaustedError:
    if not scope.parts:
        return _short(wait, f"the dashboard's budget of {allowance().cap} calls a minute is spent")
    if scope.parts[0] == "person":
        return ShareExhaustedError(
            f"Not asking Voucherify for you now: your share of {scope.allowed} calls a minute is "
            f"spent; next call in about {math.ceil(wait)} s.",
            retry_after=wait,
            key="person_share",
        )
    label = _PART_LABELS[scope.parts[-1]] if len(scope.parts) > 2 else \
        _PURPOSE_LABELS[scope.parts[1]]
    if scope.parts[-1] == LISTED:
        # The list's own part, not the resource's problem: a panel still reads that result
        # (single flight hands no ShareExhaustedError to others waiting for it).
        return ShareExhaustedError(
            f"Not asking Voucherify for now: the {_calls(scope.allowed)} a minute for {label} "
            f"are spent; next call in about {math.ceil(wait)} s.",
            retry_after=wait, key="dashboard_budget")
    if scope.seconds < WINDOW_SECONDS:
        return PacedError(
            f"Not asking Voucherify this second: {label} spend at most "
            f"{_calls(scope.allowed)} every {scope.seconds} s, to keep them spread over the "
            "minute.",
            retry_after=max(0.0, wait), key="dashboard_budget")
    return _short(wait, f"the share of {scope.allowed} calls a minute for {label} is spent")


def _calls(count: int) -> str:
    return "1 call" if count == 1 else f"{count} calls"


def _short(wait: float, reason: str, *, until: float | None = None) -> BudgetExhaustedError:
    """`until`: the moment itself, when known (a hold's): every page held back by it then
    names exactly the moment the budget does (problems.next_try)."""
    wait = max(0.0, wait)
    return BudgetExhaustedError(
        f"Not asking Voucherify for now: {reason}; next call in about {math.ceil(wait)} s.",
        retry_after=wait,
        retry_at=datetime.fromtimestamp(until, UTC) if until is not None else None,
        key="dashboard_budget",
    )


def _retry_moment(shared: object) -> float:
    """The later of the shared cache's 429 moment (`shared`, as read) and this process's."""
    global _retry_at_here
    with _memory_lock:
        if isinstance(shared, int | float) and shared > _retry_at_here:
            _retry_at_here = float(shared)
        return _retry_at_here


def forget_process_memory() -> None:
    """Drop what this process keeps of the shared budget in its own memory, a 429's moment
    and the window last seen (tests, with the cache they clear)."""
    global _retry_at_here, _shared_seen, _outage_spent
    with _memory_lock:
        _retry_at_here = 0.0
        _outage_spent = {}
    _shared_seen = {}


def note_retry_at(moment: datetime) -> None:
    """Remember a 429's retry moment for every process: the one its error names."""
    retry_at = moment.timestamp()
    _retry_moment(retry_at)
    current = cache.get(RETRY_AT_KEY)
    if not isinstance(current, int | float) or current < retry_at:
        cache.set(RETRY_AT_KEY, retry_at, max(1, math.ceil(retry_at - store.now()) + 5))


def note_rate_state(state: RateLimitState | None, retry_at: datetime | None = None) -> None:
    """Keep the upstream's latest X-Rate-Limit-* headers for the budget and the status page.
    A 429 reopens at the moment its error names (errors.retry_of), not at its
    X-Rate-Limit-Retry or a guessed window: otherwise the dashboard would wait longer than
    the moment its pages name."""
    if state is not None and retry_at is not None:
        state = replace(state, retry_at=retry_at)
    if state is not None:
        cache.set(RATE_STATE_KEY, state, store.KEEP_SECONDS)


def rate_state() -> RateLimitState | None:
    return _rate_state_of(cache.get(RATE_STATE_KEY))


def _rate_state_of(value: object) -> RateLimitState | None:
    return value if isinstance(value, RateLimitState) else None


def retry_at() -> datetime | None:
    moment = _retry_moment(cache.get(RETRY_AT_KEY))
    if moment > store.now():
        return datetime.fromtimestamp(moment, UTC)
    return None
