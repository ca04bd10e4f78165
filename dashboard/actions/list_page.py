"""What the list views ask for: a ListPage to render, and the refreshed live rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from dashboard.actions import live_counts, poll_versions
from dashboard.actions.list_params import CURSOR_PARAM, LIMITS, STATUSES, TRAIL_PARAM, ListState
from dashboard.actions.list_scan import Group, Listing, group_by_context, scan
from dashboard.actions.list_table import ActionTable, announcement
from dashboard.actions.scan_notice import ScanNotice, scan_notice
from dashboard.polling import problems, reads
from dashboard.polling.store import Fetched
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

MAX_LIVE_IDS = 100


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
        return self.url(self.state)

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
        return STATUSES

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

    @property
    def scan_notice(self) -> ScanNotice | None:
        return scan_notice(self.state, self.listing) if self.listing is not None else None

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
    def live_url(self) -> str:
        return live_url(self.live_ids, self.live_statuses, self.live_contexts, self.settled)

    @property
    def live_version(self) -> str | None:
        listing = self.listing
        if listing is None or listing.fetched_at is None:
            return None
        fetched = {a.id: Fetched(a, listing.fetched_at, stale=listing.stale)
                   for a in listing.rows if a.id in self.live_statuses}
        return answer_version(self.live_ids, self.live_statuses, self.live_contexts,
                              self.settled, fetched, self.poll_seconds)


def list_page(state: ListState, base_url: str) -> ListPage:
    """Scan for the state's page; an upstream fault with nothing to show becomes `problem`."""
    page = ListPage(state=state, base_url=base_url)
    if state.errors:
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
    page.groups = [
        GroupView(
            group,
            ActionTable(group.rows, order_by=state.sort, caption=f"{group.label} actions"),
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


def live_url(
    ids: Sequence[str], statuses: Mapping[str, str], contexts: Mapping[str, str],
    settled: live_counts.Settled | None,
) -> str:
    """The live poll: the ids, the status each row shows now (`seen`), so that the poll can
    announce every change, ENQUEUED to IN_PROGRESS included, and what the group counts need
    (see live_counts; left out when they are not known)."""
    params = _live_params(ids, statuses, contexts, settled)
    return f"{reverse('actions:live')}?{urlencode(params, safe=',:')}"


def answer_version(
    ids: Sequence[str], statuses: Mapping[str, str], contexts: Mapping[str, str],
    settled: live_counts.Settled | None, fetched: Mapping[str, Fetched[Action]],
    poll_seconds: str,
) -> str | None:
    """The fingerprint the next poll of live_url() sends (poll_versions) for these rows."""
    query = sorted(_live_params(ids, statuses, contexts, settled).items())
    return live_version(ids, fetched, poll_seconds, query)


def live_version(
    ids: Sequence[str], fetched: Mapping[str, Fetched[Action]], poll_seconds: str,
    query: list[tuple[str, str]],
) -> str | None:
    """The fingerprint of a live answer: every row, the interval and the poll's query. None
    unless every row is known, running and fresh."""
    if any(action_id not in fetched for action_id in ids):
        return None
    return poll_versions.version([fetched[i] for i in ids], poll_seconds, query)


def _live_params(
    ids: Sequence[str], statuses: Mapping[str, str], contexts: Mapping[str, str],
    settled: live_counts.Settled | None,
) -> dict[str, str]:
    params = {
        "ids": ",".join(ids),
        "seen": ",".join(statuses.get(action_id, "") for action_id in ids),
    }
    if settled is not None:
        params[live_counts.CONTEXTS_PARAM] = live_counts.contexts_param(ids, contexts)
        params[live_counts.SETTLED_PARAM] = live_counts.settled_param(settled)
    return params


def parse_live_seen(raw: str, ids: Sequence[str]) -> dict[str, str]:
    """The statuses the page shows, by id; anything unreadable just means no announcement."""
    statuses = raw.split(",")
    return {
        action_id: status
        for action_id, status in zip(ids, statuses, strict=False)
        if status in STATUSES
    }


@dataclass
class LiveRows:
    """The refreshed rows of one poll, and which of them are still live."""

    rows: list[Action]
    still_live: list[str]
    announcements: list[str]
    statuses: dict[str, str] = field(default_factory=dict)  # what each still-live row shows
    table: ActionTable | None = None
    problem: VoucherifyError | None = None  # why the rows could not be refreshed
    stale_age: float | None = None  # seconds since the oldest stale row was read
    contexts: dict[str, str] = field(default_factory=dict)  # of each still-live row
    settled: live_counts.Settled | None = None  # None: the poll cannot tell the counts
    groups: list[live_counts.GroupCounts] = field(default_factory=list)
    fetched: dict[str, Fetched[Action]] = field(default_factory=dict)

    def context(self) -> dict[str, object]:
        poll_seconds = f"{reads.poll_interval():g}"
        return {
            "table": self.table,
            "announcements": self.announcements,
            "live_ids": self.still_live,
            "live_url": live_url(self.still_live, self.statuses, self.contexts, self.settled)
            if self.still_live else "",
            "live_version": answer_version(self.still_live, self.statuses, self.contexts,
                                           self.settled, self.fetched, poll_seconds)
            if self.still_live else None,
            "poll_seconds": poll_seconds,
            "live_problem": self.problem,
            "live_stale_age": self.stale_age,
            "live_groups": self.groups,
        }


def read_live(ids: Sequence[str]) -> tuple[dict[str, Fetched[Action]], VoucherifyError | None]:
    """The latest known state of the rows, or why nothing is known (the rows keep theirs)."""
    try:
        return reads.refresh_live(ids), None
    except VoucherifyError as exc:
        return {}, exc


def refresh_rows(
    ids: Sequence[str],
    seen: Mapping[str, str] | None = None,
    contexts: Mapping[str, str] | None = None,
    settled: live_counts.Settled | None = None,
    *,
    read: tuple[dict[str, Fetched[Action]], VoucherifyError | None] | None = None,
) -> LiveRows:
    """One refresh for every live row of a page; rows nothing is known of keep their state.

    `seen` is what the page shows: a row whose status differs is announced. Without it only
    rows that finished are. With `settled` and the `contexts` of the rows the answer also
    carries every group's counts (rows that finish move into `settled`). `read`: the rows
    as read_live() gave them, when the caller has them already."""
    seen = seen or {}
    fetched, problem = read if read is not None else read_live(ids)
    rows = [fetched[i].value for i in ids if i in fetched]
    known = {action.id for action in rows}
    still_live = [a.id for a in rows if a.is_live] + [i for i in ids if i not in known]
    announcements = [
        announcement(a) for a in rows
        if (a.status != seen[a.id] if a.id in seen else not a.is_live)
    ]
    statuses = {a.id: a.status for a in rows if a.is_live}
    statuses.update({i: seen[i] for i in ids if i not in known and i in seen})
    stale = [f for f in fetched.values() if f.stale]
    problem = problem or next((f.problem for f in stale if f.problem), None)
    stale_age = max((f.age_seconds for f in stale), default=None)
    live = LiveRows(rows, still_live, announcements, statuses, ActionTable(rows), problem,
                    stale_age, fetched=fetched)
    if settled is not None:
        _count_groups(live, dict(contexts or {}), settled)
    return live


def _count_groups(live: LiveRows, contexts: dict[str, str], settled: live_counts.Settled) -> None:
    """Rows that finished join the settled counts; running rows are counted as they show."""
    contexts.update({a.id: a.context for a in live.rows})
    live.settled = settled + live_counts.settled_of(live.rows)
    live.contexts = {i: contexts[i] for i in live.still_live if i in contexts}
    if len(live.contexts) < len(live.still_live):
        return  # a running row of unknown group: leave the counts the page shows alone
    running = [(contexts[i], live.statuses.get(i, catalog.UNKNOWN_STATUS)) for i in live.still_live]
    live.groups = live_counts.group_counts(live.settled, running)


def parse_live_ids(raw: str) -> list[str]:
    """The `ids` of a live poll: comma-separated action ids, at most MAX_LIVE_IDS, no junk."""
    ids = list(dict.fromkeys(part for part in raw.split(",") if part))
    if not ids:
        raise ValueError("Name the live actions to refresh: ids=aa_…,aa_….")
    if len(ids) > MAX_LIVE_IDS:
        raise ValueError(f"At most {MAX_LIVE_IDS} actions can be refreshed in one poll.")
    bad = [part for part in ids if not is_valid_action_id(part)]
    if bad:
        raise ValueError(f"{bad[0][:70]!r} is not an action id.")
    return ids
