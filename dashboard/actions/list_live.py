"""The list's one live poll: the page's running rows refreshed, and a few unread results.

The page builds the poll's address (`live_url`); each poll answers the refreshed rows, what
changed for screen readers, every group's counts (live_counts) and the DONE rows whose failed
rows were read meanwhile (list_failures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.actions import list_failures, live_counts, poll_versions
from dashboard.actions.list_params import STATUSES
from dashboard.actions.list_table import ActionTable, announcement
from dashboard.polling import reads
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

MAX_LIVE_IDS = 100


def live_url(
    ids: Sequence[str], statuses: Mapping[str, str], contexts: Mapping[str, str],
    settled: live_counts.Settled | None, details: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
) -> str:
    """The live poll: the ids, the status each row shows now (`seen`), so that the poll can
    announce every change, ENQUEUED to IN_PROGRESS included, what the group counts need
    (see live_counts; left out when they are not known) and the DONE rows whose failed rows
    are still to read (list_failures). `extra`: what the "N new actions" check needs, which
    the poll answers too while it runs (list_new.check_params)."""
    params = {
        "ids": ",".join(ids),
        "seen": ",".join(statuses.get(action_id, "") for action_id in ids),
    }
    if settled is not None:
        params[live_counts.CONTEXTS_PARAM] = live_counts.contexts_param(ids, contexts)
        params[live_counts.SETTLED_PARAM] = live_counts.settled_param(settled)
    if details:
        params[list_failures.DETAILS_PARAM] = ",".join(details)
    params.update(extra or {})
    return f"{reverse('actions:live')}?{urlencode(params, safe=',:')}"


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
    details: list[str] = field(default_factory=list)  # DONE rows whose failed rows are unknown
    extra: dict[str, str] = field(default_factory=dict)  # carried on for the new-actions check
    version: str | None = None  # the answer's fingerprint, sent back by the next poll

    @property
    def polling(self) -> bool:
        return bool(self.still_live or self.details)

    def context(self) -> dict[str, object]:
        return {
            "table": self.table,
            "announcements": self.announcements,
            "live_ids": self.polling,
            "live_url": live_url(self.still_live, self.statuses, self.contexts, self.settled,
                                 self.details, self.extra)
            if self.polling else "",
            "poll_seconds": f"{reads.poll_interval():g}",
            "poll_version": self.version if self.polling else None,
            "live_problem": self.problem,
            "live_stale_age": self.stale_age,
            "live_groups": self.groups,
        }


@dataclass(frozen=True)
class Read:
    """The live rows as read for one poll, before anything is rendered."""

    fetched: dict[str, reads.Fetched[Action]]
    problem: VoucherifyError | None = None  # why nothing could be read


def read_rows(ids: Sequence[str]) -> Read:
    try:
        return Read(reads.refresh_live(ids) if ids else {})
    except VoucherifyError as exc:  # nothing known to serve: the rows keep what they show
        return Read({}, exc)


def poll_version(ids: Sequence[str], read: Read, results: Sequence[Action],
                 *depends_on: object) -> str | None:
    """The answer's fingerprint (poll_versions) when it depends only on rows read fresh, the
    finished rows' `results` read so far (final: their ids say which) and `depends_on` (the
    query, the viewer, the banner); None when it must be rendered for its viewer: a row not
    read or stale."""
    if read.problem is not None or any(i not in read.fetched for i in ids):
        return None
    return poll_versions.version([read.fetched[i] for i in ids], [a.id for a in results],
                                 *depends_on, finished_too=True)


def refresh_rows(
    ids: Sequence[str],
    seen: Mapping[str, str] | None = None,
    contexts: Mapping[str, str] | None = None,
    settled: live_counts.Settled | None = None,
    details: Sequence[str] = (),
    read: Read | None = None,
    results: Sequence[Action] | None = None,
) -> LiveRows:
    """One refresh for every live row of a page; rows nothing is known of keep their state.

    `seen` is what the page shows: a row whose status differs is announced. Without it only
    rows that finished are. With `settled` and the `contexts` of the rows the answer also
    carries every group's counts (rows that finish move into `settled`). `details`: DONE rows
    whose failed rows are not known yet; a few are read per poll (list_failures). `read`:
    the rows when the poll already read them (read_rows); `results`, those details when it
    read them too (list_failures.results_for)."""
    seen = seen or {}
    read = read if read is not None else read_rows(ids)
    fetched, problem = read.fetched, read.problem
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
    results = list_failures.read_results(details) if results is None else results
    failed = list_failures.known_failed([*rows, *results])
    unread = [i for i in details if i not in failed]
    finished = [i for i in list_failures.pending(rows, failed) if i not in unread]
    live = LiveRows(rows, still_live, announcements, statuses,
                    ActionTable([*rows, *results], failed=failed), problem, stale_age,
                    details=(unread + finished)[:MAX_LIVE_IDS])
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


def parse_live_ids(raw: str, *, required: bool = True) -> list[str]:
    """The `ids` of a live poll: comma-separated action ids, at most MAX_LIVE_IDS, no junk.
    Also its `details` (not `required`: a poll may read only those)."""
    ids = list(dict.fromkeys(part for part in raw.split(",") if part))
    if not ids and required:
        raise ValueError("Name the live actions to refresh: ids=aa_…,aa_….")
    if len(ids) > MAX_LIVE_IDS:
        raise ValueError(f"At most {MAX_LIVE_IDS} actions can be refreshed in one poll.")
    bad = [part for part in ids if not is_valid_action_id(part)]
    if bad:
        raise ValueError(f"{bad[0][:70]!r} is not an action id.")
    return ids
