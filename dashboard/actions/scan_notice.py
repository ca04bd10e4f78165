"""The sentence above a filtered list: where its rows came from and how far the scan went.

Filters and request-id search run in the dashboard, over upstream pages and the archive, so a
filtered page says what was scanned, and offers to go on when the scan stopped early.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard.actions.list_params import ListState
from dashboard.actions.list_scan import Listing
from dashboard.formatting import counted, exact_time


@dataclass(frozen=True)
class ScanNotice:
    sentence: SafeString
    partial: bool  # the scan stopped before the page was full: a warning
    from_archive: bool
    continue_label: str | None = None  # the link to scan older actions, when there are some
    admin_detail: str | None = None  # how the rows were read: for admins (superusers) only


def scan_notice(state: ListState, listing: Listing) -> ScanNotice | None:
    """None for unfiltered pages: the upstream's own paging needs no explanation."""
    if not state.filtered:
        return None
    partial = listing.stopped_early
    if listing.archive_synced_to:
        return ScanNotice(_from_archive(state, listing), partial, from_archive=True,
                          admin_detail=_archive_source(listing))
    if state.search_kind == "request":
        sentence, more = _request_search(state, listing)
        return ScanNotice(sentence, partial, False, more)
    scanned = counted(listing.scanned, "action")
    matches = counted(len(listing.rows), "match", "matches")
    if partial:
        return ScanNotice(format_html(
            "Results are partial: scanned {}{}; {} so far.", scanned, _back_to(listing), matches,
        ), partial, False, "Continue scanning older actions")
    if listing.rows:
        return ScanNotice(format_html(
            "{} among {} scanned{}.", matches, scanned, _back_to(listing)), partial, False)
    return ScanNotice(format_html(
        "No actions match these filters{}; scanned {} down to the oldest.",
        _before(state, " before "), scanned,
    ), partial, False)


def _from_archive(state: ListState, listing: Listing) -> SafeString:
    """No scan below the newest page: the archive answered the rest."""
    if state.search_kind == "request":
        found = "found the action started by request" if listing.rows else (
            "no action has request id")
        result = format_html("{} <code>{}</code>", found, state.q)
    elif listing.rows:
        result = counted(len(listing.rows), "match", "matches")
    else:
        result = format_html("no actions match these filters{}", _before(state, " before "))
    return format_html(
        "Served from the archive (synced up to {}): {}.",
        exact_time(listing.archive_synced_to), result,
    )


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
