"""The sentence above a filtered list: complete (and how many match), or which dates are
not read yet.

Filters and request-id search run in the dashboard, over upstream pages and the archive. A
filter whose range the archive (or the scan) read down to the oldest action is complete and
says so; otherwise the page names the dates not read yet, and a person who may start a sync
can read them from the page (templates/actions/_history_sync.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard.actions.list_params import ListState
from dashboard.actions.list_scan import Listing
from dashboard.formatting import counted, day_span, exact_time
from dashboard.history.models import SyncState
from dashboard.voucherify import catalog


@dataclass(frozen=True)
class ScanNotice:
    sentence: SafeString
    partial: bool  # the scan stopped before the page was full: a warning
    from_archive: bool
    continue_label: str | None = None  # the link to scan older actions, when there are some
    admin_detail: str | None = None  # how the rows were read: for admins (superusers) only
    complete: bool = False  # every match down to the oldest action is known
    missing_before: datetime | None = None  # older history is not all read: a sync reads it


def scan_notice(state: ListState, listing: Listing,
                coverage: SyncState | None = None) -> ScanNotice | None:
    """None for unfiltered pages: the upstream's own paging needs no explanation.
    `coverage`: what the archive holds, to say which dates are not read yet."""
    if not state.filtered:
        return None
    partial = listing.stopped_early
    if state.search_kind == "request":
        if listing.archive_synced_to:
            return ScanNotice(_from_archive(state, listing), partial, from_archive=True,
                              admin_detail=_archive_source(listing))
        sentence, more = _request_search(state, listing)
        return ScanNotice(sentence, partial, False, more)
    return _filter_notice(state, listing, coverage)


def _filter_notice(state: ListState, listing: Listing, coverage: SyncState | None) -> ScanNotice:
    """Complete, and how many match; or which dates are not read yet (in words, no counts of
    actions scanned: those are for administrators)."""
    archived = listing.archive_synced_to is not None
    admin = _archive_source(listing) if archived else _scan_source(listing)
    source = _synced_note(listing)
    if listing.complete:
        return ScanNotice(format_html("{}{}", _complete(state, listing, coverage), source),
                          False, archived, admin_detail=admin, complete=True)
    missing = _missing_before(state, listing, coverage)
    found = counted(len(listing.rows), "match", "matches")
    if listing.stopped_early:
        checked = _span(listing.scanned_back_to, listing.newest_read)
        unread = format_html(
            " Actions created before {} have not all been read yet, so older matches may be "
            "missing.", exact_time(missing)) if missing else ""
        sentence = format_html(
            "These results are partial: {} so far{}.{}", found,
            format_html(" among the actions from {}", checked) if checked else "", unread,
        )
        return ScanNotice(sentence, True, archived, "Check older actions", admin, False, missing)
    newest = format_html("The newest {}{}{}.", counted(len(listing.rows), "matching action"),
                         _before(state, " created before "), _from_span(listing.rows))
    rest = format_html(
        " How many match in all is not known yet: actions created before {} have not all been "
        "read.", exact_time(missing)) if missing else ""
    return ScanNotice(format_html("{}{}{}{}", newest, rest, _unchecked(listing), source), False,
                      archived, admin_detail=admin, missing_before=missing)


def _unchecked(listing: Listing) -> str:
    """"Done with failures" with finished actions whose results were never read."""
    if not listing.unchecked:
        return ""
    return (f" {counted(listing.unchecked, 'finished action')} here "
            f"{'has' if listing.unchecked == 1 else 'have'} not been checked for failed rows yet "
            "(an action's result is read once a list shows it), so more may match.")


def _complete(state: ListState, listing: Listing, coverage: SyncState | None) -> SafeString:
    total, shown = listing.matches_total or 0, len(listing.rows)
    if not total and state.cursor is None:
        return mark_safe("No actions match these filters; the list is complete, down to the "
                         "very first action.")
    if not total:
        return format_html("Complete: no actions match these filters{}, down to the very first "
                           "action.", _before(state, " before "))
    if total == shown:
        return format_html("Complete: all {}{} are listed here{}.",
                           counted(total, "matching action"), _before(state, " created before "),
                           _from_span(listing.rows))
    first = coverage.covered_from if coverage is not None and coverage.bottom_reached else None
    span = _span(first, listing.rows[0].created_at) if first else None
    return format_html(
        "Complete: {} actions{} match these filters{}; the newest {} are here, Older shows "
        "the rest.", total, _before(state, " created before "),
        format_html(", from {}", span) if span else "", shown,
    )


def _missing_before(state: ListState, listing: Listing,
                    coverage: SyncState | None) -> datetime | None:
    """The newest moment below which the page's answer may lack actions nobody read yet."""
    read_all = coverage is not None and coverage.bottom_reached
    if state.status == catalog.DONE_WITH_FAILURES and read_all:
        return None  # every action is read; failed rows come as pages show them, not by a sync
    if listing.archive_synced_to is not None and coverage is not None:
        return None if read_all else coverage.covered_from
    if listing.scanned_back_to is not None:
        return listing.scanned_back_to
    return state.cursor.before if state.cursor is not None else None


def _span(start: datetime | None, end: datetime | None) -> SafeString | None:
    return day_span(start, end) if start is not None and end is not None else None


def _from_span(rows: list) -> SafeString:
    if not rows:
        return mark_safe("")
    return format_html(", from {}", day_span(rows[-1].created_at, rows[0].created_at))


def _synced_note(listing: Listing) -> SafeString:
    if listing.archive_synced_to is None:
        return mark_safe("")
    return format_html(" {}.", _served(listing))


def _served(listing: Listing) -> SafeString:
    return format_html("Served from the archive (synced up to {})",
                       exact_time(listing.archive_synced_to))


def _scan_source(listing: Listing) -> str | None:
    if not listing.calls:
        return None
    return (f"For administrators: scanned {listing.scanned} actions in {listing.calls} "
            f"upstream page{'' if listing.calls == 1 else 's'} (ACTIONS_SCAN_BUDGET).")


def _from_archive(state: ListState, listing: Listing) -> SafeString:
    """A request-id search the archive answered below the newest page."""
    found = "found the action started by request" if listing.rows else "no action has request id"
    result = format_html("{} <code>{}</code>", found, state.q)
    return format_html("{}: {}.", _served(listing), result)


def _archive_source(listing: Listing) -> str:
    if listing.calls:
        return (f"For administrators: from the archive for actions older than the newest "
                f"{listing.scanned} read from Voucherify.")
    return "For administrators: answered with no call to Voucherify."


def _request_search(state: ListState, listing: Listing) -> tuple[SafeString, str | None]:
    scanned = counted(listing.scanned, "action")
    if listing.rows:
        return format_html(
            "Found the action started by request <code>{}</code> (scanned {}).", state.q, scanned,
        ), None
    if listing.stopped_early:
        return format_html(
            "Request id <code>{}</code> is not among the {} scanned{}.",
            state.q, scanned, _back_to(listing),
        ), "Continue searching older actions"
    return format_html(
        "No action has request id <code>{}</code>: scanned {}{}, down to the oldest.",
        state.q, scanned, _before(state, " created before "),
    ), None


def _back_to(listing: Listing) -> SafeString:
    if listing.scanned_back_to is None:
        return mark_safe("")
    return format_html(" back to {}", exact_time(listing.scanned_back_to))


def _before(state: ListState, words: str) -> SafeString:
    if state.cursor is None:
        return mark_safe("")
    return format_html("{}{}", words, exact_time(state.cursor.before))
