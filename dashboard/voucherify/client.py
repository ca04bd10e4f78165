"""The one way the dashboard talks to Voucherify: list pages, walk them, read one action."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from dashboard import __version__

from .auth import authenticator_for
from .config import VoucherifyConfig
from .cursor import Cursor, is_valid_action_id
from .dates import format_timestamp
from .errors import (
    InvalidActionIdError,
    InvalidResponseError,
    UnavailableError,
    VoucherifyError,
    error_from_response,
)
from .models import Action, ActionPage, RateLimitState
from .paging import MAX_LIMIT, build_page, fresh_actions, upstream_limit
from .schemas import MetadataSchema, schemas_from_list

logger = logging.getLogger(__name__)

USER_AGENT = (
    f"voucherify-async-dashboard/{__version__} "
    "(+https://github.com/voucherify-async-dashboard)"
)
LIST_ENDPOINT = "/v1/async-actions"
DETAIL_ENDPOINT = "/v1/async-actions/{id}"
SCHEMAS_ENDPOINT = "/v1/metadata-schemas"
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD"})

# (method, endpoint template, HTTP status or 0 when no response came, seconds taken)
ResponseHook = Callable[[str, str, int, float], None]


class Gate(Protocol):
    """Stands before every HTTP exchange: each attempt, retries, token requests included."""

    def admit(self) -> None:
        """Called before an exchange is sent; raises a VoucherifyError to refuse it."""
        ...

    def observe(
        self, status: int, rate_limit: RateLimitState | None, retry_at: datetime | None
    ) -> None:
        """Called after each answer: its status, X-Rate-Limit-* state and, for a 429, the
        moment it names (the same one its RateLimitedError carries)."""
        ...


class OpenGate:
    """Lets every exchange through: the plain client, outside the dashboard."""

    def admit(self) -> None:
        return None

    def observe(
        self, status: int, rate_limit: RateLimitState | None, retry_at: datetime | None
    ) -> None:
        return None


def build_session(config: VoucherifyConfig) -> requests.Session:
    """A session that never retries by itself: the client retries, so that every attempt
    passes its gate (see VoucherifyClient._send)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0, pool_maxsize=10)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def _no_netrc(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An explicit (empty) auth, so requests never adds ~/.netrc credentials to a call."""
    return request


class VoucherifyClient:
    """Idempotent calls are retried on connection faults and 502/503/504, with capped
    exponential backoff and jitter. 429 is deliberately not retried: waiting out Retry-After
    inside a web request would hold the page for a minute, so the caller gets
    RateLimitedError with `retry_after`."""

    def __init__(
        self,
        config: VoucherifyConfig,
        *,
        session: requests.Session | None = None,
        gate: Gate | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.gate: Gate = gate if gate is not None else OpenGate()
        self.clock = clock  # epoch seconds: when an answer arrived (a 429 counts from it)
        self._session = session if session is not None else build_session(config)
        self._auth = authenticator_for(config, self._fetch_token)
        self.rate_limit: RateLimitState | None = None
        self.on_response: list[ResponseHook] = []

    def __repr__(self) -> str:
        return f"<VoucherifyClient {self.config.api_url} auth={self.config.auth}>"

    # --- public calls -----------------------------------------------------------------

    def get_action(self, action_id: str) -> Action:
        """One action with its result; InvalidActionIdError before any request for a bad id."""
        if not is_valid_action_id(action_id):
            raise InvalidActionIdError()
        body = self._get_json(DETAIL_ENDPOINT, f"/v1/async-actions/{action_id}")
        return Action.from_json(body)

    def list_metadata_schemas(self) -> list[MetadataSchema]:
        """Every metadata schema of the project (one call; the purge audit's key history)."""
        return schemas_from_list(self._get_json(SCHEMAS_ENDPOINT, SCHEMAS_ENDPOINT))

    def list_actions(self, *, limit: int = 100, cursor: Cursor | None = None) -> ActionPage:
        """One page, newest first, of actions older than `cursor` (the newest without one)."""
        page, _calls = self._list_page(_checked_limit(limit), cursor)
        return page

    def iter_pages(
        self, *, limit: int = 100, cursor: Cursor | None = None, max_calls: int | None = None
    ) -> Iterator[ActionPage]:
        """Pages from `cursor` on, fetched only as they are consumed, within `max_calls` calls."""
        limit = _checked_limit(limit)
        calls = 0
        while max_calls is None or calls < max_calls:
            page, used = self._list_page(limit, cursor)
            calls += used
            yield page
            if not page.has_more or page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def iter_actions(
        self, *, limit: int = 100, cursor: Cursor | None = None, max_calls: int | None = None
    ) -> Iterator[Action]:
        """Every action from `cursor` on, once each; stops after `max_calls` list calls."""
        for page in self.iter_pages(limit=limit, cursor=cursor, max_calls=max_calls):
            yield from page.actions

    # --- paging -----------------------------------------------------------------------

    def _list_page(self, limit: int, cursor: Cursor | None) -> tuple[ActionPage, int]:
        """The page and the number of list requests it took (more than one only at big ties)."""
        if cursor is None or not cursor.seen:
            actions, more = self._fetch_list(limit, cursor)
            return build_page(fresh_actions(actions, cursor), more, cursor, limit), 1
        calls = 0
        for request_limit in sorted({upstream_limit(limit, cursor), MAX_LIMIT}):
            actions, more = self._fetch_list(request_limit, cursor)
            calls += 1
            kept = fresh_actions(actions, cursor)
            if kept or not more:
                return build_page(kept, more, cursor, limit), calls
        # More than 100 actions share this one millisecond and the upstream keeps returning
        # ones already seen: give up on that instant's remaining twins and move strictly older.
        logger.warning(
            "More than %d async actions share created_at %s; some of them may be skipped.",
            MAX_LIMIT, format_timestamp(cursor.before),
        )
        strict = cursor.strict()
        actions, more = self._fetch_list(limit, strict)
        page = build_page(fresh_actions(actions, strict), more, strict, limit)
        return dataclasses.replace(page, cursor=cursor), calls + 1

    def _fetch_list(self, limit: int, cursor: Cursor | None) -> tuple[list[Action], bool]:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["end_date"] = format_timestamp(cursor.end_date)
        body = self._get_json(LIST_ENDPOINT, LIST_ENDPOINT, params)
        if not isinstance(body, dict):
            raise InvalidResponseError("Voucherify's list of async actions was not an object.")
        data_ref = body.get("data_ref")
        items = body.get(data_ref if isinstance(data_ref, str) else "async_actions")
        if not isinstance(items, list):
            raise InvalidResponseError("Voucherify's list response held no async_actions list.")
        actions = [Action.from_json(item) for item in items]
        has_more = body.get("has_more")
        if not isinstance(has_more, bool):  # older responses omit it: a full page may go on
            has_more = len(actions) >= limit
        return actions, has_more

    # --- HTTP -------------------------------------------------------------------------

    def _get_json(self, template: str, path: str, params: dict[str, Any] | None = None) -> Any:
        headers = self._auth.headers()
        response = self._send("GET", template, path, params=params, headers=headers)
        if response.status_code == 401 and self._auth.renew_after_rejection(headers):
            headers = self._auth.headers()
            response = self._send("GET", template, path, params=params, headers=headers)
        return self._decode(response, auth_errors=True)

    def _fetch_token(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Any:
        response = self._send("POST", path, path, data=form, headers=headers)
        return self._decode(response, auth_errors=False)

    def _decode(self, response: requests.Response, *, auth_errors: bool) -> Any:
        if not 200 <= response.status_code < 300:
            error = self._error(response)
            raise self._auth.explain(error) if auth_errors else error
        try:
            # NaN and Infinity are not JSON (Python's parser takes them, no database's JSON
            # does): kept as the text Voucherify sent, so an archived action stores as read.
            return response.json(parse_constant=str)
        except ValueError:
            raise InvalidResponseError(
                "Voucherify's response was not JSON.",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
            ) from None

    @staticmethod
    def _error(response: requests.Response, *, received_at: float | None = None
               ) -> VoucherifyError:
        error = error_from_response(response, received_at=received_at)
        logger.warning("Voucherify answered HTTP %s: %s", response.status_code, error.message,
                       extra={"upstream_request_id": error.request_id})
        return error

    def _send(
        self,
        method: str,
        template: str,
        path: str,
        *,
        headers: dict[str, str],
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> requests.Response:
        """One exchange, retried where safe; every attempt passes the gate first."""
        attempts = 1 + (self.config.retries if method in RETRY_METHODS else 0)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            self.gate.admit()
            started = time.perf_counter()
            try:
                response = self._session.request(
                    method,
                    self.config.api_url + path,
                    params=params,
                    data=data,
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                    auth=_no_netrc,
                    allow_redirects=False,  # a redirect must never carry the keys to another host
                )
            except requests.RequestException as exc:
                elapsed = time.perf_counter() - started
                self._notify(method, template, 0, elapsed)
                logger.warning("%s %s failed after %.2f s: %s", method, template, elapsed,
                               type(exc).__name__)
                if last or not _retryable(exc):
                    raise UnavailableError(_unavailable_message(exc, self.config)) from None
                self.pause(self.backoff(attempt))
                continue
            elapsed = time.perf_counter() - started
            received = self.clock()
            self._notify(method, template, response.status_code, elapsed)
            state = RateLimitState.from_headers(response.headers)
            if state is not None:
                self.rate_limit = state
            logger.debug("%s %s -> %s in %.2f s", method, template, response.status_code, elapsed)
            if response.status_code == 429:
                # Never retried. Its moment is read once: the budget (the gate) holds every
                # call back until the very moment the error, and so every page, names.
                error = self._error(response, received_at=received)
                self.gate.observe(429, state, error.retry_at)
                raise error
            self.gate.observe(response.status_code, state, None)
            if last or response.status_code not in RETRY_STATUSES:
                return response
            response.close()
            self.pause(self.backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt`: none before the first, then exponential,
        with jitter, capped at backoff_max."""
        if attempt <= 1:
            return 0.0
        factor = self.config.backoff_factor
        delay = factor * 2 ** (attempt - 1) + random.uniform(0, factor)
        return min(self.config.backoff_max, delay)

    def pause(self, seconds: float) -> None:
        """Waits between retries (tests may replace it)."""
        if seconds > 0:
            time.sleep(seconds)

    def _notify(self, method: str, template: str, status: int, elapsed: float) -> None:
        for hook in list(self.on_response):
            try:
                hook(method, template, status, elapsed)
            except Exception:  # a broken metrics hook must not break the call
                logger.exception("on_response hook %r failed", hook)


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}.")
    return limit


def _retryable(exc: requests.RequestException) -> bool:
    """Connection faults and timeouts; not a body that could not be decoded, say."""
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def _unavailable_message(exc: requests.RequestException, config: VoucherifyConfig) -> str:
    cause = _root_cause(exc)
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so it is asked first.
    if isinstance(cause, NewConnectionError | ConnectionRefusedError):
        return "Voucherify could not be reached: the connection was refused."
    if isinstance(exc, requests.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        return f"Voucherify did not accept a connection within {config.connect_timeout:g} s."
    if isinstance(exc, requests.Timeout) or isinstance(cause, ReadTimeoutError | TimeoutError):
        return f"Voucherify did not answer in time (within {config.read_timeout:g} s)."
    if isinstance(exc, requests.ConnectionError):
        return "Voucherify could not be reached: the connection was reset or dropped."
    return "The request to Voucherify failed before an answer came."


def _root_cause(exc: BaseException) -> BaseException | None:
    """urllib3's reason inside requests' wrapper (after retries it is a MaxRetryError's)."""
    for arg in exc.args:
        if isinstance(arg, MaxRetryError):
            return arg.reason
        if isinstance(arg, BaseException):
            return arg
    return None


__all__ = ["Gate", "OpenGate", "VoucherifyClient", "VoucherifyError", "build_session"]
