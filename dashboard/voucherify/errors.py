"""One error hierarchy for everything that can go wrong talking to Voucherify.

Every error carries the HTTP status, Voucherify's `key`, `message`, `details` and
`request_id`; `str(err)` shows the message and the request id and never a key or token.
`error_from_response` is the one place that maps an HTTP status to a class.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from .numbers import finite_number

# Used when a 429 says neither Retry-After nor X-Rate-Limit-Retry.
DEFAULT_RETRY_AFTER = 60.0
# The longest wait the upstream is taken at its word for: the longest limit window NOTES.md
# names is an hour (the Sandbox's 100 requests an hour). A longer one (milliseconds sent as
# seconds, a misread date) would hold every call back for years; after this the dashboard
# asks again, at the cost of one call.
LONGEST_WAIT_SECONDS = 3600.0
_TEXT_LIMIT = 300


class VoucherifyError(Exception):
    """Base class; `message` is a sentence fit for a page or a terminal."""

    default_message = "Voucherify returned an error."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        key: str | None = None,
        details: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.key = key
        self.details = details
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        text = self.message
        if self.details and self.details not in text:
            text = f"{text.rstrip('.')}: {self.details}"
        if self.request_id:
            text = f"{text} (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, key={self.key!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(VoucherifyError):
    default_message = "Voucherify rejected the credentials (check VOUCHERIFY_APP_ID/_APP_TOKEN)."


class PlanLimitError(VoucherifyError):
    default_message = "The Voucherify plan's limits are exceeded."


class BadRequestError(VoucherifyError):
    default_message = "Voucherify refused the request as invalid."


class NotFoundError(VoucherifyError):
    default_message = "Voucherify has no such resource."


class RetryLaterError(VoucherifyError):
    """No answer for now, and a known moment to try again: `retry_after` seconds from now, or
    `retry_at` when the moment itself is known (no drift of the clock read in between)."""

    def __init__(
        self, message: str | None = None, *, retry_after: float = DEFAULT_RETRY_AFTER,
        retry_at: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))
        self.retry_at = retry_at or datetime.now(UTC) + timedelta(seconds=self.retry_after)

    def __str__(self) -> str:
        return f"{super().__str__()}; retry in {self.retry_after:.0f} s"


class RateLimitedError(RetryLaterError):
    """429: the project's request budget is spent until `retry_at`."""

    default_message = "Voucherify's request limit for this project is reached."


class BudgetExhaustedError(RetryLaterError):
    """Not an upstream answer: the dashboard refused to send the call, because its shared
    per-minute budget (or the upstream's last word on its limit) allows none for now."""

    default_message = "The dashboard's budget of upstream calls is spent for the moment."


class PacedError(BudgetExhaustedError):
    """The dashboard put a live update's call off to keep its calls spread over the minute:
    a schedule, not a shortage (what is known is at most a pace older than a fresh read)."""

    default_message = "Live updates are spread over the minute: the next one is due shortly."


class ShareExhaustedError(BudgetExhaustedError):
    """The dashboard refused the call because the person asking has spent their own share of
    the budget; the others' shares are untouched."""

    default_message = "Your share of the dashboard's upstream calls is spent for the moment."


class UpstreamError(VoucherifyError):
    default_message = "Voucherify had an internal error."


class UnavailableError(VoucherifyError):
    default_message = "Voucherify could not be reached."


class InvalidResponseError(VoucherifyError):
    default_message = "Voucherify sent a response the dashboard cannot read."


class InvalidActionIdError(VoucherifyError, ValueError):
    default_message = "That is not an async action id (they look like aa_0c5543f00797b6113f)."


def error_from_response(response: Any, *, received_at: float | None = None) -> VoucherifyError:
    """The typed error for a non-2xx `requests.Response`; `received_at` (epoch seconds): when
    it arrived, from which a 429 names its moment (now when not given)."""
    status = int(response.status_code)
    body = _json_body(response)
    fields = {
        "status": status,
        "key": _text(body.get("key")),
        "details": _text(body.get("details")),
        "request_id": _text(body.get("request_id")) or _text(response.headers.get("X-Request-Id")),
    }
    message = _text(body.get("message"))
    if status == 429:
        return RateLimitedError(message, **retry_of(response.headers, received_at), **fields)
    cls = _class_for(status)
    if cls is InvalidResponseError and not message:
        message = f"Voucherify answered with an unexpected HTTP status {status}."
    return cls(message, **fields)


def _class_for(status: int) -> type[VoucherifyError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 402:
        return PlanLimitError
    if status == 404:
        return NotFoundError
    if 400 <= status < 500:
        return BadRequestError
    if status >= 500:
        return UpstreamError
    return InvalidResponseError


def retry_of(headers: Any, received_at: float | None = None) -> dict[str, Any]:
    """A 429's wait and the moment it ends, from one reading of the clock: `retry_after` and
    `retry_at` for RateLimitedError."""
    received = time.time() if received_at is None else received_at
    wait = retry_after_seconds(headers, received)
    return {"retry_after": wait, "retry_at": datetime.fromtimestamp(received + wait, UTC)}


def retry_after_seconds(headers: Any, now: float | None = None) -> float:
    """Seconds to wait from Retry-After, else X-Rate-Limit-Retry (rate_limit_retry), at most
    LONGEST_WAIT_SECONDS; a header that is no finite number is not read."""
    # An HTTP-date is no number: Voucherify sends seconds.
    wait = finite_number(headers.get("Retry-After"))
    if wait is None:
        now = time.time() if now is None else now
        moment = rate_limit_retry(headers.get("X-Rate-Limit-Retry"), now)
        if moment is not None:
            wait = moment - now
    if wait is None:
        return DEFAULT_RETRY_AFTER
    return min(max(0.0, wait), LONGEST_WAIT_SECONDS)


# Below this an X-Rate-Limit-Retry is no epoch second of this century (2001-09-09 on).
_EPOCH_FROM = 1_000_000_000


def rate_limit_retry(value: object, now: float) -> float | None:
    """X-Rate-Limit-Retry as the epoch second it names, or None when it is no finite number of
    0 or more. It is epoch seconds; a small number (a proxy's seconds to wait) is read as
    seconds from `now`, and a moment beyond LONGEST_WAIT_SECONDS is read as that: the budget
    holds every call back until it. The one reader of the header (RateLimitState too), so a
    429 and the rate-limit state never disagree about the same value."""
    moment = finite_number(value)
    if moment is None or moment < 0:
        return None
    if moment < _EPOCH_FROM:
        moment += now
    return min(moment, now + LONGEST_WAIT_SECONDS)


def _json_body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:_TEXT_LIMIT]
