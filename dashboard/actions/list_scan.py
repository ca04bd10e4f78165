"""Filtering the upstream lacks: scan its pages until the page is full or the budget is spent.

Plain Python over `reads.fetch_page`: what a list page holds, where the next older page
starts (exact across `created_at` ties) and how far the scan got.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dashboard.actions.list_failures import known_failed, matches_failures
from dashboard.actions.list_params import ListState
from dashboard.actions.live_counts import ordered
from dashboard.history.query import ListFilter, archived_count, archived_rest, unchecked_done
from dashboard.polling import reads
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import Cursor, is_valid_action_id
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action
from dashboard.voucherify.paging import next_cursor

UPSTREAM_PAGE_SIZE = 100  # the upstream's maximum: the fewest calls per scanned action


@dataclass(frozen=True)
class Listing:
    """One list page: its rows, where the next older page starts and what the scan cost."""

    rows: list[Action]
    next_cursor: Cursor | None  # None: nothing older exists
    scanned: int = 0  # upstream actions read for this page
    calls: int = 0  # upstream pages fetched
    scanned_back_to: datetime | None = None  # created_at of the oldest action read
    budget_spent: bool = False  # stopped with the page not full and older actions left
    fetched_at: datetime | None = None  # the oldest upstream read behind the page
    stale: bool = False
    problem: VoucherifyError | None = None  # why the data is stale or the scan stopped early
    archive_synced_to: datetime | None = None  # older rows came from the archive (history app)
    top_id: str | None = None  # the newest action the upstream listed (newest pages only)
    newest_read: datetime | None = None  # created_at of the newest upstream action read
    # Every match from the page's start down to the oldest action, when that is known (the
    # scan or the archive reached the bottom); None when older history is not all read.
    matches_total: int | None = None
    # "Done with failures": DONE actions in the answered range whose failed rows are not known
    # yet (never read in detail), so they may match too; matches_total is None while any are.
    unchecked: int = 0

    @property
    def complete(self) -> bool:
        """Every match from the page's start down to the oldest action is known."""
        return self.matches_total is not None and not self.stopped_early

    @property
    def stopped_early(self) -> bool:
        """Fewer rows than asked although older actions may match: say so, offer to go on."""
        return self.next_cursor is not None and (self.budget_spent or self.problem is not None)


@dataclass(frozen=True)
class Group:
    """The rows of one context on the page, with counts per status."""

    key: str
    label: str
    rows: list[Action]
    status_counts: list[tuple[str, int]] = field(default_factory=list)


def matcher(state: ListState, failed: dict[str, int] | None = None) -> Callable[[Action], bool]:
    """The dashboard-side filter for the state's context, type, status and request id;
    `failed`: the known failed rows by id, for "Done with failures"."""

    def status_matches(action: Action) -> bool:
        if state.status == catalog.DONE_WITH_FAILURES:
            return matches_failures(action, failed or {})
        return state.status is None or action.status == state.status

    def matches(action: Action) -> bool:
        return (
            (state.context is None or action.context == state.context)
            and (state.type is None or action.type == state.type)
            and (state.start is None or action.created_at >= state.start)
            and status_matches(action)
            and (state.search_kind != "request" or action.request_id == state.q)
        )

    return matches


def page_matcher(state: ListState, actions: Sequence[Action]) -> Callable[[Action], bool]:
    """The filter for one upstream page: "Done with failures" asks the archive once."""
    if state.status == catalog.DONE_WITH_FAILURES:
        return matcher(state, known_failed(actions))
    return matcher(state)


def archive_filter(state: ListState) -> ListFilter | None:
    """What of the state the archive can answer; None for an unfiltered list."""
    if not state.filtered:
        return None
    request_id = state.q if state.search_kind == "request" else None
    return ListFilter(context=state.context, type=state.type, status=state.status,
                      request_id=request_id, start=state.start)


def scan(state: ListState, *, budget: int) -> Listing:
    """The rows of the page starting at `state.cursor`, within `budget` upstream pages.

    Raises VoucherifyError only when the first upstream page cannot be had at all; a fault
    later in the scan ends it early with what was found so far.
    """
    # A request id belongs to one API call, which starts at most one async action.
    wanted = 1 if state.search_kind == "request" else state.limit
    rows: list[Action] = []
    cursor = state.cursor
    scanned, calls, oldest, fetches = 0, 0, None, []
    problem: VoucherifyError | None = None
    following: Cursor | None = cursor
    budget_spent = False
    archived = None
    top_id: str | None = None
    newest: datetime | None = None
    total: int | None = None
    unchecked = 0
    filters = archive_filter(state)
    while True:
        archived = archived_rest(filters, cursor, wanted - len(rows))
        if archived is not None:  # the archive holds everything older: no upstream call
            above = len(rows)
            rows.extend(archived.rows)
            following = archived.next_cursor
            unchecked += unchecked_done(filters, cursor) if cursor is not None else 0
            if following is None:
                total = len(rows)
            else:
                below = archived_count(filters, cursor)
                total = None if below is None else above + below
            break
        if calls >= budget:
            budget_spent = True
            break
        try:
            fetched = reads.fetch_page(limit=UPSTREAM_PAGE_SIZE, cursor=cursor)
        except VoucherifyError as exc:
            if not calls:
                raise
            problem = exc
            break
        calls += 1
        fetches.append(fetched)
        page = fetched.value
        if state.cursor is None and calls == 1:
            # The newest action a link can name: an id Voucherify sent that no URL can carry
            # (aa_slash/x) must not reach the "new actions" poll.
            top_id = next((a.id for a in page.actions if is_valid_action_id(a.id)), None)
        inside = _since(page.actions, state.start)
        known = known_failed(inside) if state.status == catalog.DONE_WITH_FAILURES else None
        consumed = _take(inside, matcher(state, known), rows, wanted)
        if known is not None:
            unchecked += sum(a.status == catalog.DONE and a.id not in known for a in consumed)
        if consumed and newest is None:
            newest = consumed[0].created_at
        scanned += len(consumed)
        if consumed:
            oldest = consumed[-1].created_at
        if len(consumed) < len(inside):  # the page filled up inside this upstream page
            following = next_cursor(consumed, cursor)
            break
        if len(inside) < len(page.actions):  # reached start_date: nothing older matches
            following = None
            total = len(rows)  # read down to start_date
            break
        if not page.has_more or page.next_cursor is None:
            following = None
            total = len(rows)  # read down to the oldest action
            break
        following = cursor = page.next_cursor
        if len(rows) >= wanted:
            break
    if total is None and filters is not None and following is not None and not budget_spent \
            and problem is None:
        # The page filled up: the archive may still know how many match below it.
        below = archived_count(filters, following)
        total = None if below is None else len(rows) + below
        if archived is None:  # an archive answer counted its own range's, below `cursor`
            unchecked += unchecked_done(filters, following) if total is not None else 0
    return Listing(
        rows=rows,
        next_cursor=following,
        scanned=scanned,
        calls=calls,
        scanned_back_to=oldest,
        budget_spent=budget_spent,
        fetched_at=min((f.fetched_at for f in fetches), default=None),
        stale=any(f.stale for f in fetches),
        problem=problem or next((f.problem for f in fetches if f.problem), None),
        archive_synced_to=archived.synced_to if archived is not None else None,
        top_id=top_id,
        newest_read=newest,
        matches_total=None if unchecked else total,
        unchecked=unchecked,
    )


def _since(actions: Sequence[Action], start: datetime | None) -> Sequence[Action]:
    """The newest-first actions created at or after `start` (all of them without one)."""
    if start is None:
        return actions
    for index, action in enumerate(actions):
        if action.created_at < start:
            return actions[:index]
    return actions


def _take(
    actions: Sequence[Action], matches: Callable[[Action], bool], rows: list[Action], wanted: int
) -> list[Action]:
    """Append matches to `rows` until it holds `wanted`; returns the actions read."""
    consumed = []
    for action in actions:
        if len(rows) >= wanted:
            break
        consumed.append(action)
        if matches(action):
            rows.append(action)
    return consumed


def group_by_context(rows: Sequence[Action]) -> list[Group]:
    """Non-empty groups in Voucherify's order of contexts, Other last."""
    by_context: dict[str, list[Action]] = {}
    for action in rows:
        by_context.setdefault(action.context, []).append(action)
    return [
        Group(key, catalog.CONTEXT_LABELS[key], by_context[key],
              ordered(Counter(action.status for action in by_context[key])))
        for key in catalog.CONTEXT_KEYS
        if key in by_context
    ]
