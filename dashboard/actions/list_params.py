"""The list page's query string as a validated `ListState`, and back to one canonical URL.

Like Django admin's ChangeList the parameter names are module constants. Every invalid
value becomes one sentence in `ListState.errors`; the view answers those with a 400 page and
never lets the value reach the upstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import Cursor, is_valid_action_id
from dashboard.voucherify.dates import format_timestamp, parse_user_datetime

CONTEXT_PARAM = "context"
TYPE_PARAM = "type"
STATUS_PARAM = "status"
SEARCH_PARAM = "q"
LIMIT_PARAM = "limit"
CURSOR_PARAM = "end_date"  # the upstream's own name: actions created before it
START_PARAM = "start_date"  # actions created at or after it (the dashboard's filter)
TRAIL_PARAM = "back"  # the cursors of the newer pages walked through, for "Newer"
SORT_PARAM = "sort"
VIEW_PARAM = "view"
TIMELINE = "timeline"  # one table in time order; the default groups rows by context
# The canonical order of parameters in a URL; sort last so `{% querystring sort=... %}` on a
# canonical URL stays canonical.
PARAM_ORDER = (
    CONTEXT_PARAM, TYPE_PARAM, STATUS_PARAM, SEARCH_PARAM, START_PARAM, LIMIT_PARAM,
    CURSOR_PARAM, TRAIL_PARAM, VIEW_PARAM, SORT_PARAM,
)

LIMITS = (10, 25, 50, 100)
DEFAULT_LIMIT = 25
STATUSES = catalog.STATUS_KEYS
FILTER_STATUSES = catalog.FILTER_STATUS_KEYS  # the upstream's and "Done with failures"
SORTABLE = ("type", "status", "created_at", "updated_at", "processing_time")
# Stands for the newest page (no cursor) inside the trail.
NEWEST = "newest"
TRAIL_SEPARATOR = ","
# Deeper walks forget their newest pages: "Newer" then ends at the oldest remembered one.
MAX_TRAIL = 30
MAX_TRAIL_LENGTH = 4000  # characters, so that links stay well inside what servers accept
MAX_VALUE_LENGTH = 6000

_TYPE = re.compile(r"[A-Z][A-Z0-9_]{0,63}(?:\.[A-Z0-9_]{1,64}){0,3}")
_REQUEST_ID = re.compile(r"[vw]-[A-Za-z0-9]{1,64}")
# The tail of an action id as the list shows it ("…9d8a7c2c"), at least 6 characters.
_ID_SUFFIX = re.compile(r"(?:…|\.{3})?([0-9A-Fa-f]{6,61})")  # ids are aa_ + hex
MIN_SUFFIX = 6
_HEX = re.compile(r"[0-9A-Fa-f]+")
T = TypeVar("T")


@dataclass(frozen=True)
class ListState:
    """Everything that decides what the list shows; one state has one URL."""

    context: str | None = None
    type: str | None = None
    status: str | None = None
    q: str = ""
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    trail: tuple[str, ...] = ()
    sort: str | None = None
    view: str | None = None  # TIMELINE, or None for the grouped view
    start: datetime | None = None  # nothing created before it (a day of the overview's bars)
    errors: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def search_kind(self) -> str | None:
        """"action" (go straight to it), "request" (scan for it), "suffix" (the tail of an
        action id: look it up among the actions already read) or None."""
        if not self.q:
            return None
        if is_valid_action_id(self.q):
            return "action"
        return "request" if _REQUEST_ID.fullmatch(self.q) else "suffix"

    @property
    def filtered(self) -> bool:
        """True when rows are chosen by the dashboard, not just paged by the upstream."""
        return bool(self.context or self.type or self.status or self.start
                    or self.search_kind == "request")

    @property
    def filter_count(self) -> int:
        """How many filters narrow the rows (the phone's "Filters (2 active)")."""
        return sum(1 for value in (self.context, self.type, self.status, self.q, self.start)
                   if value)

    def params(self) -> dict[str, str]:
        """The non-default parameters, in canonical order."""
        values = {
            CONTEXT_PARAM: self.context,
            TYPE_PARAM: self.type,
            STATUS_PARAM: self.status,
            SEARCH_PARAM: self.q,
            START_PARAM: format_timestamp(self.start) if self.start else None,
            LIMIT_PARAM: str(self.limit) if self.limit != DEFAULT_LIMIT else None,
            CURSOR_PARAM: self.cursor.to_param() if self.cursor else None,
            TRAIL_PARAM: TRAIL_SEPARATOR.join(self.trail) if self.cursor and self.trail else None,
            VIEW_PARAM: self.view,
            SORT_PARAM: self.sort,
        }
        return {name: value for name, value in values.items() if value}

    def query(self) -> str:
        """The canonical query string, with its "?" (or "" for the defaults)."""
        params = self.params()
        return "?" + urlencode(params, safe=":~,") if params else ""

    def without_errors(self) -> ListState:
        """The list without the values its errors name: the 400 page's way out. A value that
        did not parse is already None; one that only clashed with another is dropped here."""
        named = {name for name, _ in self.errors}
        return replace(self, errors=(), type=None if TYPE_PARAM in named else self.type,
                       start=None if START_PARAM in named else self.start)

    def refiltered(self, **changes: object) -> ListState:
        """Other filters: the cursor and its trail are dropped (the old position means nothing)."""
        return replace(self, cursor=None, trail=(), errors=(), **changes)

    def newest(self) -> ListState:
        return replace(self, cursor=None, trail=(), errors=())

    def older(self, cursor: Cursor) -> ListState:
        """The page starting at `cursor`, remembering this one for "Newer"."""
        here = self.cursor.to_param() if self.cursor else NEWEST
        trail = (*self.trail, here)[-MAX_TRAIL:]
        while len(trail) > 1 and len(TRAIL_SEPARATOR.join(trail)) > MAX_TRAIL_LENGTH:
            trail = trail[1:]
        return replace(self, cursor=cursor, trail=trail, errors=())

    def newer(self) -> ListState | None:
        """Exactly the previous page, or None when the trail does not say which it was."""
        if self.cursor is None or not self.trail:
            return None
        *rest, previous = self.trail
        if previous == NEWEST:
            return self.newest()
        return replace(self, cursor=Cursor.from_param(previous), trail=tuple(rest), errors=())


def parse_list_params(query: Mapping[str, str]) -> ListState:
    """A ListState from request.GET; unknown parameters are ignored, bad values recorded."""
    errors: list[tuple[str, str]] = []

    def take(name: str) -> str:
        value = (query.get(name) or "").strip()
        if len(value) > MAX_VALUE_LENGTH:
            errors.append((name, f"The {name} parameter is too long to be a real value."))
            return ""
        return value

    state = ListState(
        context=_choice(take(CONTEXT_PARAM), errors, CONTEXT_PARAM, _context),
        type=_choice(take(TYPE_PARAM), errors, TYPE_PARAM, _action_type),
        status=_choice(take(STATUS_PARAM), errors, STATUS_PARAM, _status),
        q=_choice(take(SEARCH_PARAM), errors, SEARCH_PARAM, _search) or "",
        limit=_choice(take(LIMIT_PARAM), errors, LIMIT_PARAM, _limit) or DEFAULT_LIMIT,
        cursor=_choice(take(CURSOR_PARAM), errors, CURSOR_PARAM, Cursor.from_param),
        sort=_choice(take(SORT_PARAM), errors, SORT_PARAM, _sort),
        view=_choice(take(VIEW_PARAM), errors, VIEW_PARAM, _view),
        start=_choice(take(START_PARAM), errors, START_PARAM, parse_user_datetime),
    )
    trail = _choice(take(TRAIL_PARAM), errors, TRAIL_PARAM, _trail) or ()
    # Values that each parse but cannot go together are kept (the form shows them); the
    # error page's way out drops them (ListState.without_errors).
    if state.type and state.context and catalog.context_of(state.type) != state.context:
        home = catalog.CONTEXT_LABELS[catalog.context_of(state.type)]
        errors.append((TYPE_PARAM, (
            f"{state.type} actions belong to {home}, not "
            f"{catalog.CONTEXT_LABELS[state.context]}, so nothing could match; choose one of them."
        )))
    # A cursor with ids seen at its instant still holds that instant's other twins.
    if state.start and state.cursor and (state.start > state.cursor.before or (
            state.start == state.cursor.before and not state.cursor.seen)):
        errors.append((START_PARAM, (
            f"The start ({format_timestamp(state.start)}) is not before the end "
            f"({format_timestamp(state.cursor.before)}), so no action could lie between them; "
            "choose an earlier start_date or a later end_date."
        )))
    return replace(state, trail=trail if state.cursor else (), errors=tuple(errors))


def _choice(raw: str, errors: list, name: str, parse: Callable[[str], T]) -> T | None:
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        errors.append((name, str(exc)))
        return None


def _context(raw: str) -> str:
    key = raw.upper().replace(" ", "_")
    if key not in catalog.CONTEXT_KEYS:
        choices = ", ".join(catalog.CONTEXT_KEYS)
        raise ValueError(f"There is no context {raw[:40]!r}; choose one of {choices}.")
    return key


def _action_type(raw: str) -> str:
    value = raw.upper()
    if not _TYPE.fullmatch(value):
        raise ValueError(
            f"{raw[:40]!r} is not an action type; types look like VOUCHERS.IMPORT_CSV "
            "(capital letters, digits, underscores and dots)."
        )
    return value


def _status(raw: str) -> str:
    value = raw.upper().replace(" ", "_")
    if value not in FILTER_STATUSES:
        raise ValueError(
            f"There is no status {raw[:40]!r}; choose one of {', '.join(FILTER_STATUSES)}."
        )
    return value


def _search(raw: str) -> str:
    raw = _as_written_upstream(raw)
    if raw[:3] == "aa_":
        if not is_valid_action_id(raw):
            raise ValueError(
                f"{raw[:70]!r} looks like an action id but is not one: ids are aa_ followed by "
                "letters and digits, such as aa_0c5543f00797b6113f."
            )
        return raw
    if _REQUEST_ID.fullmatch(raw):
        return raw
    suffix = _ID_SUFFIX.fullmatch(raw)
    if suffix is None:
        raise ValueError(
            f"Search takes an action id (aa_…, or its last {MIN_SUFFIX} characters or more, "
            f"as the list shows them) or a request id (v-… or w-…); {raw[:70]!r} is none of "
            "these. To filter by type, context or status use the filters."
        )
    return suffix[1].lower()


def _as_written_upstream(raw: str) -> str:
    """An action or request id typed in capitals as Voucherify writes it: its prefix (aa_, v-,
    w-) and a hex body in lower case (the upstream and the archive compare exactly)."""
    prefix = next((p for p in ("aa_", "v-", "w-") if raw[:len(p)].lower() == p), None)
    if prefix is None:
        return raw
    body = raw[len(prefix):]
    return prefix + (body.lower() if _HEX.fullmatch(body) else body)


def _limit(raw: str) -> int:
    if raw.isdigit() and int(raw) in LIMITS:
        return int(raw)
    allowed = ", ".join(str(n) for n in LIMITS[:-1]) + f" or {LIMITS[-1]}"
    raise ValueError(f"Rows per page must be {allowed}, not {raw[:20]!r}.")


def _sort(raw: str) -> str:
    if raw.removeprefix("-") not in SORTABLE:
        raise ValueError(
            f"The list cannot be sorted by {raw[:40]!r}; use one of {', '.join(SORTABLE)} "
            "(a leading - sorts descending)."
        )
    return raw


def _view(raw: str) -> str | None:
    value = raw.lower()
    if value not in (TIMELINE, "grouped"):
        raise ValueError(f"The list is shown grouped or as a timeline, not {raw[:40]!r}.")
    return TIMELINE if value == TIMELINE else None


def _trail(raw: str) -> tuple[str, ...]:
    parts = tuple(raw.split(TRAIL_SEPARATOR))
    if len(parts) > MAX_TRAIL:
        raise ValueError("The trail of newer pages (back) is longer than the dashboard makes.")
    for part in parts:
        if part != NEWEST:
            try:
                Cursor.from_param(part)
            except ValueError:
                raise ValueError(
                    "The trail of newer pages (back) is damaged; use Newest to start over."
                ) from None
    return tuple(part if part == NEWEST else Cursor.from_param(part).to_param() for part in parts)
