"""What the list views ask for: a ListPage to render, and the refreshed live rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.utils import timezone

from dashboard.actions import list_failures, list_new, live_counts
from dashboard.actions.list_live import MAX_LIVE_IDS, live_url
from dashboard.actions.list_params import (
    CURSOR_PARAM,
    FILTER_STATUSES,
    LIMITS,
    TIMELINE,
    TRAIL_PARAM,
    ListState,
)
from dashboard.actions.list_scan import Group, Listing, group_by_context, scan
from dashboard.actions.list_table import ActionTable
from dashboard.actions.scan_notice import ScanNotice, scan_notice
from dashboard.history import backfill, query
from dashboard.history.audit_models import BackfillRun
from dashboard.polling import problems, reads
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.errors import VoucherifyError

SHOW_STOPPED = timedelta(minutes=15)  # a run that stopped on a fault is shown this long


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class GroupView:
    group: Group
    table: ActionTable
    only_url: str  # this context alone


@dataclass
class ListPage:
    """Everything list.html shows."""

    state: ListState
    base_url: str
    listing: Listing | None = None
    groups: list[GroupView] = field(default_factory=list)
    problem: VoucherifyError | None = None
    stale_age: float | None = None
    newest_url: str | None = None
    newer_url: str | None = None
    older_url: str | None = None
    live_ids: list[str] = field(default_factory=list)
    live_statuses: dict[str, str] = field(default_factory=dict)
    live_contexts: dict[str, str] = field(default_factory=dict)
    settled: live_counts.Settled = field(default_factory=Counter)
    pending_details: list[str] = field(default_factory=list)  # DONE rows, failed rows unknown
    suffix_matches: list[str] | None = None  # a search by an id's tail: the ids it found
    timeline: ActionTable | None = None  # the timeline view's one table (instead of groups)

    def url(self, state: ListState) -> str:
        return self.base_url + state.query()

    @property
    def http_status(self) -> int:
        """400 for bad parameters; 200 while there is a listing to show (see `failure`)."""
        return 400 if self.state.errors else 200

    @property
    def failure(self) -> problems.Problem | None:
        """Why nothing could be shown: it decides the page's status and Retry-After."""
        if self.listing is None and self.problem is not None:
            return problems.describe(self.problem)
        return None

    @property
    def canonical_url(self) -> str:
        """This list's one address; on a 400 page, without the values that cannot be used."""
        return self.url(self.state.without_errors())

    @property
    def tabs(self) -> list[Tab]:
        current = self.state.context
        tabs = [Tab("All", self.url(self.state.refiltered(context=None)), current is None)]
        return tabs + [
            Tab(c.label, self.url(self.in_context(c.key)), current == c.key)
            for c in catalog.CONTEXTS
        ]

    def in_context(self, key: str) -> ListState:
        """The same filters in one context; a type of another context is dropped."""
        chosen = self.state.type
        keep = chosen if chosen and catalog.context_of(chosen) == key else None
        return self.state.refiltered(context=key, type=keep)

    @property
    def statuses(self) -> tuple[str, ...]:
        return FILTER_STATUSES

    @property
    def contexts(self) -> tuple[catalog.Context, ...]:
        return catalog.CONTEXTS

    @property
    def limits(self) -> tuple[int, ...]:
        return LIMITS

    @property
    def kept_params(self) -> list[tuple[str, str]]:
        """What a jump to a date keeps: everything but the position."""
        dropped = (CURSOR_PARAM, TRAIL_PARAM)
        return [(k, v) for k, v in self.state.params().items() if k not in dropped]

    @property
    def type_choices(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Known types by context, plus the chosen one when nobody documented it."""
        known = catalog.KNOWN_TYPES.values()
        choices = [
            (c.label, [(t.name, t.label) for t in known if t.context == c.key])
            for c in catalog.CONTEXTS
        ]
        chosen = self.state.type
        if chosen and chosen not in catalog.KNOWN_TYPES:
            choices.append(("Not documented", [(chosen, catalog.label_of(chosen))]))
        return [(label, types) for label, types in choices if types]

    @cached_property
    def scan_notice(self) -> ScanNotice | None:
        if self.listing is None or not self.state.filtered:
            return None
        return scan_notice(self.state, self.listing, query.coverage())

    @cached_property
    def history_sync(self) -> BackfillRun | None:
        """The run reading missing history to show above a filtered list: while it goes on,
        and for a while after it stopped on a fault (a finished one reloads the page)."""
        if self.scan_notice is None:
            return None
        run = backfill.current()
        if run is None or run.active:
            return run
        stopped = run.state == run.FAILED or bool(run.problem)
        recent = run.finished_at is not None and timezone.now() - run.finished_at < SHOW_STOPPED
        return run if stopped and recent else None

    @property
    def sync_max_calls(self) -> int:
        return backfill.max_calls()

    @property
    def empty_project(self) -> bool:
        """No action at all: the newest unfiltered page came back empty."""
        return (
            self.listing is not None and not self.listing.rows
            and not self.state.filtered and self.state.cursor is None
        )

    @property
    def poll_seconds(self) -> str:
        return f"{reads.poll_interval():g}"

    @property
    def views(self) -> list[Tab]:
        """The switch between the grouped view (the default) and the timeline; the page stays."""
        return [
            Tab("Grouped by context", self.url(replace(self.state, view=None)),
                self.state.view is None),
            Tab("Timeline", self.url(replace(self.state, view=TIMELINE)),
                self.state.view == TIMELINE),
        ]

    @cached_property
    def new_actions(self) -> list_new.NewActions | None:
        """The "N new actions" banner's first state: only above the newest page (read by the
        template and by live_url: worked out once)."""
        if self.state.cursor is not None or self.listing is None or not self.listing.top_id:
            return None
        return list_new.NewActions(0, False, list_new.check_url(self.state, self.listing.top_id),
                                   self.canonical_url, self.poll_seconds, polls=not self.polling)

    @property
    def polling(self) -> bool:
        """Live rows to refresh or failed-row counts still to read."""
        return bool(self.live_ids or self.pending_details)

    @property
    def live_url(self) -> str:
        # The timeline has no group counts for the poll to keep right.
        settled = None if self.timeline is not None else self.settled
        new = self.new_actions
        extra = list_new.check_params(self.state, self.listing.top_id) if new else {}
        return live_url(self.live_ids, self.live_statuses, self.live_contexts, settled,
                        self.pending_details, extra)


def list_page(state: ListState, base_url: str,
              suffix_matches: list[str] | None = None) -> ListPage:
    """Scan for the state's page; an upstream fault with nothing to show becomes `problem`.
    A search by an id's tail shows its `suffix_matches` instead of rows."""
    page = ListPage(state=state, base_url=base_url, suffix_matches=suffix_matches)
    if state.errors or suffix_matches is not None:
        return page
    try:
        listing = scan(state, budget=int(settings.ACTIONS_SCAN_BUDGET))
    except VoucherifyError as exc:
        page.problem = exc
        return page
    page.listing = listing
    page.problem = listing.problem
    if listing.stale and listing.fetched_at is not None:
        page.stale_age = upstream_age(listing.fetched_at)
    failed = list_failures.known_failed(listing.rows)
    page.pending_details = list_failures.pending(listing.rows, failed)[:MAX_LIVE_IDS]
    parts: dict = {}  # what the page's tables have alike (ActionTable)
    if state.view == TIMELINE:
        page.timeline = ActionTable(listing.rows, order_by=state.sort, failed=failed,
                                    caption="Actions", parts=parts)
    page.groups = [] if page.timeline is not None else [
        GroupView(
            group,
            ActionTable(group.rows, order_by=state.sort, caption=f"{group.label} actions",
                        failed=failed, sorts="each group", parts=parts),
            page.url(page.in_context(group.key)),
        )
        for group in group_by_context(listing.rows)
    ]
    if state.cursor is not None:
        page.newest_url = page.url(state.newest())
        newer = state.newer()
        page.newer_url = page.url(newer) if newer else None
    if listing.next_cursor is not None:
        page.older_url = page.url(state.older(listing.next_cursor))
    # An id no poll could name is not polled (the row has no link).
    pollable = [a for a in listing.rows if a.is_live and is_valid_action_id(a.id)]
    page.live_statuses = {a.id: a.status for a in pollable}
    page.live_contexts = {a.id: a.context for a in pollable}
    page.live_ids = list(page.live_statuses)
    page.settled = live_counts.settled_of(listing.rows)
    return page


def upstream_age(moment: datetime) -> float:
    return max(0.0, (timezone.now() - moment).total_seconds())
