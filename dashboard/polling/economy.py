"""Reads that cost as few upstream calls as possible, shared by every viewer and process.

- Live actions on the newest page are refreshed by one shared list call per interval;
  other live actions that anyone polls by one more shared list call per interval (the
  window, watched.py), and only those outside it by a detail call each.
- A terminal action's detail is read once and kept for good.
- Every call goes through single flight and the budget; short of either, what is known is
  served, marked stale, with the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from dashboard import hot
from dashboard.voucherify.client import VoucherifyClient
from dashboard.voucherify.cursor import Cursor, is_valid_action_id
from dashboard.voucherify.errors import (
    BudgetExhaustedError,
    InvalidActionIdError,
    NotFoundError,
    PacedError,
    RetryLaterError,
    UnavailableError,
    UpstreamError,
    VoucherifyError,
)
from dashboard.voucherify.models import Action, ActionPage
from dashboard.voucherify.paging import MAX_LIMIT

from . import (
    align,
    archiving,
    askers,
    budget,
    failing,
    gate,
    singleflight,
    slices,
    stats,
    store,
    watched,
)
from .store import Fetched

T = TypeVar("T")
NEWEST_KEY = store.key("newest")
WINDOW_KEY = store.key("window")
COLD_READ_KEY = store.key("cold-read")
# A waiter that has something to serve waits this long for another request's call at most.
SHORT_WAIT_SECONDS = 1.0
# An id Voucherify does not know is not asked about again for this long: repeating it (a
# stale link, someone trying ids) costs no call.
NOT_FOUND_SECONDS = float(singleflight.PROBLEM_SECONDS)


def interval() -> float:
    return float(settings.ACTIONS_POLL_INTERVAL)


def live_max_age() -> float:
    """How long live data counts as fresh: the poll interval, or the refreshes' pace when it
    is longer (no refresh could be made sooner; asking would only be put off, at the cost
    of a budget check and an archive lookup on every poll meanwhile)."""
    return hot.remembered("polling:live-max-age", _live_max_age)


def _live_max_age() -> float:
    pace = budget.poll_pace()
    return max(interval(), pace.seconds / pace.burst if pace is not None else 0.0)


def older_page_max_age() -> float:
    return max(interval(), float(settings.ACTIONS_OLDER_PAGE_MAX_AGE))


def action_key(action_id: str) -> str:
    return store.key("action", action_id)


def final_key(action_id: str) -> str:
    return store.key("final", action_id)


def forget_actions(action_ids: Sequence[str]) -> None:
    """Drop the kept copies of these actions (the archive let them go: retention). A finished
    action's copy is kept for good and holds only the first rows of a big result, the rest
    being in the archive: it must not outlive them. A later view reads the action again."""
    keys = [key for action_id in action_ids for key in (final_key(action_id),
                                                          action_key(action_id))]
    hot.forget(keys)
    cache.delete_many(keys)


def page_key(limit: int, cursor: Cursor) -> str:
    digest = hashlib.sha256(cursor.to_param().encode()).hexdigest()[:32]
    return store.key("page", limit, digest)


# --- the one path every upstream call takes --------------------------------------------


def _backoff(error: VoucherifyError) -> float:
    """How long after this error nobody asks again for the same resource."""
    if isinstance(error, NotFoundError):
        return NOT_FOUND_SECONDS
    if isinstance(error, RetryLaterError):
        return 1.0  # the budget itself knows when calls may resume; it is cheap to ask
    if isinstance(error, UnavailableError | UpstreamError):
        return 2 * interval()
    return interval()


def _recent_problem(
    resource: str, just_read: dict[str, Any] | None = None
) -> VoucherifyError | None:
    """The error a call for `resource` met lately and still counts; `just_read`: the cache's
    values of a few keys, its problem key among them, as just read (else it is read now)."""
    name = singleflight.problem_key(resource)
    problem = cache.get(name) if just_read is None else just_read.get(name)
    if not isinstance(problem, tuple):
        return None
    at, error = problem
    return error if store.now() - at < _backoff(error) else None


def _obtain(
    client: VoucherifyClient,
    resource: str,
    read: Callable[[], Fetched[Any] | None],
    call: Callable[[], T],
    save: Callable[[T], Fetched[T]],
    *,
    max_age: float,
    background: bool,
    has_fallback: bool,
    result: bool = False,
    polls_show_it: bool = True,
    just_read: dict[str, Any] | None = None,
) -> Fetched[Any]:
    """A fresh entry, from the cache or from one shared, budgeted upstream call (`result`: the
    one read of a finished action's result, budget.py counts it apart from refreshes;
    `polls_show_it`: what it stores can change a poll's answer, so storing it moves the reads
    epoch; `just_read`: see _recent_problem)."""
    problem = _recent_problem(resource, just_read)
    if has_fallback and isinstance(problem, NotFoundError):
        problem = None  # a remembered 404 does not hide an action the list has shown since
    # A background refusal does not hold back a page load, which may spend the reserve; a
    # poll's read of a result waits out a refusal as a refresh does (its viewers' polls would
    # otherwise each ask the budget again, every poll, until it has room).
    held = background or (result and askers.current().purpose == askers.POLL)
    if problem is not None and (held or not isinstance(problem, BudgetExhaustedError)):
        raise problem

    def fresh() -> Fetched[Any] | None:
        entry = read()
        return entry if entry is not None and entry.is_fresh(max_age) else None

    def gated_call() -> Fetched[T]:
        # Each exchange of the call is paid from the budget by the client's gate.
        with store.asking(), failing.one_call():
            try:
                with gate.priority(background=background, result=result):
                    value = call()
            except (UnavailableError, UpstreamError):
                failing.mark()
                raise
            failing.unmark()
            saved = save(value)
        if polls_show_it:  # polls answered from the older state are answered anew
            store.moved_reads_epoch()
        return saved

    config = client.config
    lock_seconds = config.connect_timeout + config.read_timeout + 1
    stats.record_lookup(hit=False)
    return singleflight.run(
        resource,
        fresh,
        gated_call,
        lock_seconds=lock_seconds,
        wait_seconds=SHORT_WAIT_SECONDS if has_fallback else lock_seconds,
    )


def _stale_or_raise(known: Fetched[T] | None, error: VoucherifyError) -> Fetched[T]:
    if known is None or isinstance(error, NotFoundError):
        raise error
    if isinstance(error, PacedError) and known.is_fresh(interval() + budget.paced_fresh_seconds()):
        # Put off to keep calls spread, not short: as fresh as the pace lets anyone's data be,
        # so it is served as any fresh answer is (no notice; a poll of it can be "unchanged").
        return known
    return known.stale_because(error)


def upstream_failing() -> bool:
    return failing.failing()


def not_found(action_id: str) -> bool:
    """Voucherify answered 404 for the action lately (remembered: no call)."""
    return isinstance(_recent_problem(_detail_resource(action_id)), NotFoundError)


# --- pages ---------------------------------------------------------------------------


def _newest(client: VoucherifyClient, *, background: bool, known: Fetched[ActionPage] | None):
    return _obtain(
        client,
        "newest",
        lambda: store.load(NEWEST_KEY),
        lambda: client.list_actions(limit=MAX_LIMIT),
        _save_newest,
        max_age=live_max_age(),
        background=background,
        has_fallback=known is not None,
    )


def _save_newest(page: ActionPage) -> Fetched[ActionPage]:
    entry = _save_listed(NEWEST_KEY, page)
    # Live elements poll once more just after the next refresh (align.py).
    align.note_refresh_due(entry.fetched_at.timestamp() + live_max_age())
    return entry


def _sliced(fetched: Fetched[ActionPage], limit: int) -> Fetched[ActionPage]:
    return dataclasses.replace(fetched, value=slices.newest_slice(fetched.value, limit))


def _older_from_newest(cursor: Cursor, limit: int) -> Fetched[ActionPage] | None:
    newest = store.load(NEWEST_KEY)
    if newest is None or not newest.is_fresh(older_page_max_age()):
        return None
    page = slices.older_slice(newest.value, cursor, limit)
    return None if page is None else Fetched(page, newest.fetched_at)


def newest_known() -> Fetched[ActionPage] | None:
    """The shared newest page from the cache, fresh or not (no call)."""
    return store.load(NEWEST_KEY)


def fetch_page(
    client: VoucherifyClient, *, limit: int, cursor: Cursor | None, background: bool
) -> Fetched[ActionPage]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}.")
    if cursor is None:  # every newest page is a slice of the one shared newest-100 list
        known = store.load(NEWEST_KEY)
        if known is not None and known.is_fresh(live_max_age()):
            stats.record_lookup(hit=True)
            return _sliced(known, limit)
        try:
            entry = _newest(client, background=background, known=known)
        except VoucherifyError as error:
            return _sliced(_stale_or_raise(known, error), limit)
        return _sliced(entry, limit)
    from_newest = _older_from_newest(cursor, limit)
    if from_newest is not None:
        stats.record_lookup(hit=True)
        return from_newest
    name = page_key(limit, cursor)
    known = store.load(name)
    if known is not None and known.is_fresh(older_page_max_age()):
        stats.record_lookup(hit=True)
        return known
    try:
        entry = _obtain(
            client,
            name.removeprefix(store.PREFIX),
            lambda: store.load(name),
            lambda: client.list_actions(limit=limit, cursor=cursor),
            lambda page: store.save(name, page),
            max_age=older_page_max_age(),
            background=background,
            has_fallback=known is not None,
            polls_show_it=False,  # an older page's entry: no poll answer is made of it
        )
    except VoucherifyError as error:
        return _stale_or_raise(known, error)
    return entry


# --- actions -------------------------------------------------------------------------


def _listed(newest: Fetched[ActionPage] | None, action_id: str) -> Fetched[Action] | None:
    if newest is None:
        return None
    for action in newest.value.actions:
        if action.id == action_id:
            return Fetched(action, newest.fetched_at)
    return None


def _save_detail(action: Action) -> Fetched[Action]:
    if action.is_terminal:  # immutable from now on: never asked for again
        # As the archive keeps it: a big result's failed rows live apart in the archive, so
        # no cache entry holds 100,000 of them.
        kept = archiving.current().kept_final(action)
        return store.save(final_key(action.id), kept, forever=True)
    return store.save(action_key(action.id), action)


def _refreshed_by(
    listing: Fetched[ActionPage], action_id: str, known: Fetched[Action] | None
) -> tuple[Fetched[Action] | None, Fetched[Action] | None]:
    """(the action as a shared list call shows it, while it runs there; the latest known)."""
    listed = _listed(listing, action_id)
    if listed is not None and listed.value.is_live:
        return listed, known
    return None, store.newest([known, listed])


def _window(client: VoucherifyClient, action: Action, *, background: bool) -> Fetched[ActionPage]:
    """The window (watched.py) holding `action`, fresh; a new one when it does not hold it."""

    def read() -> Fetched[ActionPage] | None:
        # A window that holds the action, or ends before it: a new one would not hold it either.
        entry = store.load(WINDOW_KEY)
        if entry is None or _listed(entry, action.id) is not None:
            return entry
        rows = entry.value.actions
        beyond = bool(rows) and entry.value.has_more and action.created_at < rows[-1].created_at
        return entry if beyond else None

    def call() -> ActionPage:
        cursor = watched.window_cursor(watched.current(interval()) or
                                       {action.id: (action.created_at, store.now())})
        return client.list_actions(limit=MAX_LIMIT, cursor=cursor)

    def save(page: ActionPage) -> Fetched[ActionPage]:
        return _save_listed(WINDOW_KEY, page)

    return _obtain(client, "window", read, call, save, max_age=live_max_age(),
                   background=background, has_fallback=True)


def _detail_resource(action_id: str) -> str:
    return f"action:{action_id}"


def _detail(client: VoucherifyClient, action_id: str, *, background: bool, has_fallback: bool,
            result: bool = False, just_read: dict[str, Any] | None = None):
    def read() -> Fetched[Action] | None:
        found = store.load_many([final_key(action_id), action_key(action_id)])
        final = found.get(final_key(action_id))
        if final is not None:  # a final entry is fresh forever
            return store.read_now(final.value)
        entry = found.get(action_key(action_id))  # finished there: a list item, no result
        return entry if entry is not None and entry.value.is_live else None

    entry = _obtain(
        client,
        _detail_resource(action_id),
        read,
        lambda: client.get_action(action_id),
        _save_detail,
        max_age=live_max_age(),
        background=background,
        has_fallback=has_fallback,
        result=result,
        just_read=just_read,
    )
    if entry.value.is_live:
        # A final entry is stored only under this resource's lock, where there was none: no
        # round trip to look for it.
        return entry
    final = store.load(final_key(action_id))  # as stored: read() hands out a fresh copy
    return final if final is not None else entry


def fetch_result(client: VoucherifyClient, action_id: str) -> Fetched[Action]:
    """A finished action's detail (its result), at background priority: read once, kept for
    good as a final entry."""
    if not is_valid_action_id(action_id):
        raise InvalidActionIdError()
    return _detail(client, action_id, background=True, has_fallback=False, result=True)


@dataclasses.dataclass(frozen=True)
class _Cached:
    served: Fetched[Action] | None  # what the cache serves without a call
    newest: Fetched[ActionPage] | None  # the newest page
    known: Fetched[Action] | None  # the latest known state of the action
    # What the cache held of the small keys a read asks next (a cold read's signs,
    # _cold_read_shares_newest; the detail call's recent problem), read with the rest when
    # that took a round trip; None when it did not.
    next_keys: dict[str, Any] | None = None


def _cold_read_signs() -> list[str]:
    return [COLD_READ_KEY, singleflight.lock_key("newest")]


def _next_keys(action_id: str) -> list[str]:
    return [*_cold_read_signs(), singleflight.problem_key(_detail_resource(action_id))]


def _from_cache(action_id: str, *, served_checked: bool = False) -> _Cached:
    """`served_checked`: the caller has just asked cached_actions, which served nothing."""
    served = None if served_checked else cached_actions([action_id]).get(action_id)
    if served is not None:
        return _Cached(served, None, served)
    # Asked next (three small keys): in the same round trip, not in ones of their own.
    found, signs = store.load_along([action_key(action_id), NEWEST_KEY], _next_keys(action_id))
    newest = found.get(NEWEST_KEY)
    known = store.newest([found.get(action_key(action_id)), _listed(newest, action_id)])
    if known is not None and known.value.is_live and known.is_fresh(live_max_age()):
        stats.record_lookup(hit=True)
        return _Cached(known, newest, known)
    return _Cached(None, newest, known, signs)


def cached_actions(ids: Sequence[str]) -> dict[str, Fetched[Action]]:
    """The actions the cache serves without a call (final, or live and fresh), in one read.

    Every live action of a list call (the newest page, the window) has an entry of its own,
    so a poll need not unpickle a whole page for one row."""
    ids = [action_id for action_id in dict.fromkeys(ids) if is_valid_action_id(action_id)]
    served = {}
    for action_id in ids:  # live and fresh in this process's memory: no round trip at all
        entry = store.recalled(action_key(action_id))
        if entry is not None and entry.value.is_live:
            stats.record_lookup(hit=True)
            served[action_id] = entry
    ids = [action_id for action_id in ids if action_id not in served]
    found = store.load_many([final_key(i) for i in ids] + [action_key(i) for i in ids])
    for action_id in ids:
        entry = found.get(final_key(action_id))
        if entry is None:
            entry = found.get(action_key(action_id))
            entry = entry if entry is not None and entry.value.is_live else None
        if entry is not None and (entry.value.is_terminal or entry.is_fresh(live_max_age())):
            stats.record_lookup(hit=True)
            served[action_id] = entry
    return served


def cached_action(action_id: str) -> Fetched[Action] | None:
    """The action when the cache serves it without a call: final, or live and fresh."""
    return cached_actions([action_id]).get(action_id)


def _save_listed(name: str, page: ActionPage) -> Fetched[ActionPage]:
    """A list call's page, and each of its actions as an entry of its own (a finished one
    too, so that no older entry still says it runs)."""
    entry = store.save(name, page)
    # An id no address can carry (a space, a slash) is never asked for: no entry, and no key
    # a cache (memcached) could not hold.
    store.save_many({action_key(a.id): Fetched(a, entry.fetched_at) for a in page.actions
                     if is_valid_action_id(a.id)})
    return entry


def fetch_action(
    client: VoucherifyClient, action_id: str, *, background: bool, from_list: bool = False,
    result: bool = True, served_checked: bool = False,
) -> Fetched[Action]:
    """`from_list`: the id came from a list row, so an unknown one is probably on the newest
    page, and a list call is the one that refreshes all of its neighbours too. An action that
    finished is read once more for its result; when that read must wait for the budget, the
    list item that shows it finished is served as it is unless `result` (a panel waits for
    its result; a list row shows its status, and the list reads results apart,
    actions/list_failures.py). `served_checked`: cached_action() just served nothing (its
    round trip is not made again; a call still looks once more under its lock)."""
    if not is_valid_action_id(action_id):
        raise InvalidActionIdError()
    cached = _from_cache(action_id, served_checked=served_checked)
    if cached.served is not None:
        return cached.served
    newest, known = cached.newest, cached.known
    listed = _listed(newest, action_id)
    maybe_listed = listed is not None or newest is None or (
        from_list and known is None and not newest.is_fresh(live_max_age())
    )
    if known is not None:
        live_or_row = known.value.is_live
    else:
        live_or_row = from_list or (newest is None and
                                    _cold_read_shares_newest(action_id, cached.next_keys))
    # What was read of the next keys holds until something else is asked of the cache.
    next_keys = cached.next_keys
    if live_or_row and maybe_listed:
        # Live on the newest page (or may be): one shared list call refreshes every viewer's.
        next_keys = None
        try:
            served, known = _refreshed_by(
                _newest(client, background=background, known=newest), action_id, known)
        except VoucherifyError as error:
            # A cold read's detail call would meet the same budget or the same failing upstream.
            return _stale_or_raise(known, error)
        if served is not None:
            return served
    off_page = known is not None and known.value.is_live
    if off_page:
        next_keys = None
    if off_page and len(watched.watch(known.value, interval())) > 1:
        # Live, older than the newest page, and not alone: one shared list call (the window)
        # refreshes every such action anyone polls; one outside it needs its own detail call
        # (as does a lone one: a list call would cost the same).
        try:
            served, known = _refreshed_by(
                _window(client, known.value, background=background), action_id, known)
        except VoucherifyError as error:
            return _stale_or_raise(known, error)
        if served is not None:
            return served
    # Outside the window, or just became terminal: its own detail call. The latter is needed
    # once per action and carries the result, so it may use the reserve.
    finishing = known is not None and known.value.is_terminal
    try:
        entry = _detail(client, action_id, background=background and not finishing,
                        has_fallback=known is not None, result=finishing,
                        just_read=next_keys)
    except VoucherifyError as error:
        if finishing and not result and isinstance(error, RetryLaterError):
            return known  # not stale: every viewer of the row gets the same, shared answer
        return _stale_or_raise(known, error)
    if newest is None and known is None:
        _note_cold_read(entry)
    return entry


def _cold_read_shares_newest(action_id: str, signs: dict[str, Any] | None) -> bool:
    """Nothing of the newest page is cached, and it is being read right now (a list page
    loading), or another live action was just read cold: the first page loads after a start,
    or every open panel's poll after the shared cache was emptied. Then the newest page is
    read (or waited for) first, one shared list call for all of those panels instead of a
    detail call each; an action not on it still gets its own. A lone cold read, or one after
    a finished or unknown action's, is one detail call as ever. `signs`: the cache's
    COLD_READ_KEY and the newest page's lock as just read, else None."""
    newest_lock = singleflight.lock_key("newest")
    found = cache.get_many(_cold_read_signs()) if signs is None else signs
    if newest_lock in found:
        return True
    mark = found.get(COLD_READ_KEY)
    return (isinstance(mark, tuple) and mark[1] != action_id
            and 0 <= store.now() - mark[0] < interval())


def _note_cold_read(entry: Fetched[Action]) -> None:
    if entry.value.is_live:
        cache.set(COLD_READ_KEY, (store.now(), entry.value.id), timeout=store.KEEP_SECONDS)


def refresh_live(client: VoucherifyClient, ids: Sequence[str]) -> dict[str, Fetched[Action]]:
    """The rows' latest states. A row that finished, whose result must wait for the budget,
    is served the list item that shows it finished (the list reads results a few per poll,
    actions/list_failures.py), not marked stale: that would render each viewer's poll apart
    until the read is made."""
    latest = cached_actions(ids)
    for action_id in dict.fromkeys(ids):
        if action_id in latest:
            continue
        try:
            latest[action_id] = fetch_action(client, action_id, background=True, from_list=True,
                                             result=False)
        except VoucherifyError:
            continue  # nothing known to serve: the row keeps what the page showed
    return latest
