""""N new actions" above an open list's newest page, counted on the shared newest page.

Every viewer's check reads the one newest-100 page the polling layer already keeps fresh
(polling.economy: one list call per poll interval, whatever the number of viewers), so it
never adds an upstream call of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.actions.list_params import ListState
from dashboard.actions.list_scan import UPSTREAM_PAGE_SIZE, page_matcher
from dashboard.polling import reads
from dashboard.voucherify.cursor import is_valid_action_id
from dashboard.voucherify.errors import VoucherifyError

AFTER_PARAM = "after"  # the newest action the page showed the upstream listing


@dataclass(frozen=True)
class NewActions:
    """What the banner shows: how many new actions match the list's filters."""

    count: int
    more: bool  # the shown newest action left the newest page: at least `count`
    check_url: str  # the next check
    show_url: str  # the list's newest page, reloaded
    poll_seconds: str
    polls: bool = True  # False while the page's live poll runs: it answers this banner too

    @property
    def text(self) -> str:
        count = f"{self.count}+" if self.more else str(self.count)
        return f"{count} new action{'' if self.count == 1 and not self.more else 's'}"


def check_params(state: ListState, after: str) -> dict[str, str]:
    """What a check needs: the list's filters and the newest action it showed. The live poll
    carries them too (their names differ from the poll's own)."""
    return {**state.newest().params(), AFTER_PARAM: after}


def check_url(state: ListState, after: str) -> str:
    return f"{reverse('actions:new')}?{urlencode(check_params(state, after), safe=':,')}"


def parse_after(raw: str) -> str:
    if not is_valid_action_id(raw):
        raise ValueError("Say which action the page showed newest: after=aa_….")
    return raw


def new_actions(state: ListState, after: str, *, polls: bool = True) -> NewActions:
    """New actions matching `state` above `after` on the shared newest page (0 while it
    cannot be read: the next check tries again)."""
    count, more = 0, False
    try:
        page = reads.fetch_page(limit=UPSTREAM_PAGE_SIZE, background=True).value
    except VoucherifyError:
        page = None
    if page is not None:
        ids = [action.id for action in page.actions]
        newer = page.actions[: ids.index(after)] if after in ids else page.actions
        more = after not in ids and bool(newer)
        matches = page_matcher(state, newer)
        count = sum(1 for action in newer if matches(action))
        more = more and count > 0
    show = reverse("actions:list") + state.newest().query()
    return NewActions(count, more, check_url(state, after), show,
                      f"{reads.poll_interval():g}", polls)
