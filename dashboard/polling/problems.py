"""What any error means for the person reading a page, and how the page answers it.

The one place that words failures: each error class gets a kind (CSS-friendly), a sentence,
advice, the HTTP status of a page that has nothing else to show, and Retry-After when waiting
helps. Every page (list, detail, CSV export, overview) renders `describe(error)` and answers
with `answer(response, problem)`; a page that still shows data (stale rows, the archive)
answers 200 and says what went wrong in the page instead.

Statuses: 503 with Retry-After when a call was not made because a limit is spent (Voucherify's
429, or the dashboard's own budget holding back); 404 for an id that is malformed or unknown;
502 for every other upstream failure (Voucherify down, erroring or answering nonsense); 500
for anything that is not an upstream failure at all.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from dashboard.polling import budget, store
from dashboard.voucherify import errors


class Headers(Protocol):
    status_code: int

    def __setitem__(self, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class Wording:
    kind: str
    sentence: str  # what happened
    advice: str  # what to check, or what happens next
    http_status: int
    admin_hint: str = ""  # the technical fix (settings, commands): shown to admins only


@dataclass(frozen=True)
class Problem:
    kind: str
    sentence: str
    advice: str
    http_status: int
    retry_after: int | None = None  # whole seconds, for Retry-After
    retry_at: datetime | None = None
    upstream_message: str | None = None  # the error's own words, when it has any
    # True when upstream_message came in an HTTP error answer; a dropped connection, an
    # unreadable body or the dashboard's own budget are the dashboard's words, not Voucherify's.
    said_by_upstream: bool = False
    request_id: str | None = None
    admin_hint: str = ""  # the technical fix: pages show it to admins (superusers) only

    @property
    def technical_message(self) -> bool:
        """The error's own words name settings: pages show them to admins only."""
        return bool(self.upstream_message and _SETTING_NAME.search(self.upstream_message))


_SETTING_NAME = re.compile(r"\b(?:VOUCHERIFY|DJANGO|ACTIONS)_[A-Z_]+")
_WAITING = 503
_BAD_GATEWAY = 502
_NOT_FOUND = 404

# First match wins: subclasses before their bases.
WORDINGS: tuple[tuple[type[BaseException], Wording], ...] = (
    (errors.ShareExhaustedError, Wording(
        "own-share",
        "You have used your share of the dashboard's calls to Voucherify for this minute.",
        "Each person may make only part of the minute's calls (VOUCHERIFY_USER_SHARE), so "
        "that one busy session cannot hold back everyone else's pages; this page works again "
        "in a moment, and what others see is not affected.",
        _WAITING)),
    (errors.PacedError, Wording(
        "paced",
        "The dashboard spreads its live updates over the minute; the next one is due shortly.",
        "Live updates may make only a few calls to Voucherify every few seconds, so that the "
        "minute's calls are not spent in one burst; the page asks again by itself.",
        _WAITING,
        "Live updates' refreshes spend at most VOUCHERIFY_POLL_BURST calls in the seconds "
        "their part of the share (VOUCHERIFY_POLL_SHARE, less VOUCHERIFY_RESULT_SHARE for "
        "results) earns them.")),
    (errors.BudgetExhaustedError, Wording(
        "held-back",
        "The dashboard is holding back its calls to Voucherify to protect your API limit.",
        "Its calls count against the project's own API limit, so it spreads them out; "
        "Voucherify itself was not asked. The page asks again by itself.",
        _WAITING,
        "The dashboard makes at most VOUCHERIFY_CALLS_PER_MINUTE calls a minute "
        "(VOUCHERIFY_BUDGET_RESERVE of them kept for pages people open).")),
    (errors.RateLimitedError, Wording(
        "rate-limited",
        "Voucherify's rate limit was reached for this project.",
        "Every call counts against the same limit as the project's own integration, so the "
        "dashboard waits before asking again.",
        _WAITING)),
    # The base of the two above: no answer for now, with a known moment to ask again.
    (errors.RetryLaterError, Wording(
        "waiting",
        "Voucherify cannot be asked again just yet.",
        "The dashboard waits for the moment it was given, then asks again by itself.",
        _WAITING)),
    (errors.AuthenticationError, Wording(
        "credentials",
        "Voucherify rejected the dashboard's credentials, so no actions can be read.",
        "Nothing can be shown until an administrator of this dashboard fixes its connection "
        "to Voucherify.",
        _BAD_GATEWAY,
        "Check VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN (the project's server-side keys, or "
        "VOUCHERIFY_BEARER_TOKEN), and that VOUCHERIFY_CLUSTER or VOUCHERIFY_API_URL points at "
        "the cluster the project lives on.")),
    (errors.PlanLimitError, Wording(
        "plan-limit",
        "Voucherify says the project's plan limits are exceeded.",
        "Check the plan and its usage in Voucherify's dashboard.",
        _BAD_GATEWAY)),
    (errors.UnavailableError, Wording(
        "unavailable",
        "Voucherify could not be reached or did not answer in time.",
        "This is usually temporary; the page asks again by itself.",
        _BAD_GATEWAY,
        "If it lasts, check the network and VOUCHERIFY_API_URL.")),
    (errors.UpstreamError, Wording(
        "upstream-error",
        "Voucherify had an internal error.",
        "This is usually temporary; the page will work again once Voucherify recovers.",
        _BAD_GATEWAY)),
    (errors.InvalidResponseError, Wording(
        "invalid-response",
        "Voucherify sent a response the dashboard cannot read.",
        "Try again; if it keeps happening, report it with the request id below.",
        _BAD_GATEWAY)),
    (errors.InvalidActionIdError, Wording(
        "invalid-id",
        "That is not an async action id: ids look like aa_0c5543f00797b6113f "
        "(aa_ followed by letters and digits).",
        "Check the link, or find the action in the list.",
        _NOT_FOUND)),
    (errors.NotFoundError, Wording(
        "not-found",
        "There is no async action with the id {action_id}.",
        "Check the link, or find it in the list; it may belong to another project.",
        _NOT_FOUND)),
    (errors.BadRequestError, Wording(
        "bad-request",
        "Voucherify refused the request as invalid.",
        "This is a fault in the dashboard; report it with the request id below.",
        _BAD_GATEWAY)),
    (errors.VoucherifyError, Wording(
        "error", "Voucherify returned an error.", "Try again later.", _BAD_GATEWAY)),
)
UNEXPECTED = Wording(
    "internal",
    "The dashboard hit an unexpected error.",
    "Try again; if it keeps happening, report it with the request id of this page.",
    500,
)
# Kinds whose sentence names the HTTP status Voucherify answered with.
_STATUS_SHOWN = frozenset({"upstream-error", "bad-request", "invalid-response"})


def wording_of(error: BaseException) -> Wording:
    for cls, wording in WORDINGS:
        if isinstance(error, cls):
            return wording
    return UNEXPECTED


def describe(error: BaseException, *, action_id: str = "") -> Problem:
    """What a person reads about `error`, and how a page that can show nothing else answers."""
    wording = wording_of(error)
    sentence = wording.sentence.format(action_id=action_id or "given")
    if not isinstance(error, errors.VoucherifyError):
        return Problem(wording.kind, sentence, wording.advice, wording.http_status,
                       admin_hint=wording.admin_hint)
    if error.status and wording.kind in _STATUS_SHOWN:
        sentence = f"{sentence[:-1]} (HTTP {error.status})."
    waiting = wording.http_status == _WAITING and isinstance(error, errors.RetryLaterError)
    retry_at = next_try(error) if waiting else None
    return Problem(
        kind=wording.kind,
        sentence=sentence,
        advice=wording.advice,
        http_status=wording.http_status,
        retry_after=seconds_until(retry_at) if retry_at is not None else None,
        retry_at=retry_at,
        upstream_message=own_words(error, waiting=waiting),
        said_by_upstream=error.status is not None and error.status >= 400,
        request_id=error.request_id,
        admin_hint=wording.admin_hint,
    )


def next_try(error: errors.RetryLaterError) -> datetime:
    """The one moment a page names for asking again: the error's own, or later when the
    shared budget holds every call back longer (a 429's Retry-After and its X-Rate-Limit-Retry
    can differ). Every retry time on a page, its header and its countdown come from this; a
    429's own moment is the one the budget noted for it (the client reads it once)."""
    blocked = budget.blocked_until()
    if blocked is not None and blocked > error.retry_at.timestamp():
        return datetime.fromtimestamp(blocked, UTC)
    return error.retry_at


def seconds_until(moment: datetime) -> int:
    """Whole seconds from now until `moment`, at least 1 (for Retry-After)."""
    return max(1, math.ceil(moment.timestamp() - store.now()))


# The budget's refusals end by counting down on their own; the page counts from `next_try`.
_OWN_COUNTDOWN = re.compile(r";? next call in about \d+ s(?=\.?$)")


def own_words(error: errors.VoucherifyError, *, waiting: bool = False) -> str | None:
    """The message and details the error carries, unless it only has its class's default;
    `waiting` drops a countdown of its own (the page shows one, from one moment)."""
    words = error.message if error.message != type(error).default_message else None
    if words and waiting:
        words = _OWN_COUNTDOWN.sub("", words)
    if error.details and (words is None or error.details not in words):
        words = f"{words.rstrip('.')}: {error.details}" if words else error.details
    return words


def answer(response: Headers, problem: Problem) -> Headers:
    """Give a page that shows only `problem` its HTTP status and, when waiting helps,
    Retry-After."""
    response.status_code = problem.http_status
    if problem.retry_after is not None:
        response["Retry-After"] = str(problem.retry_after)
    return response
