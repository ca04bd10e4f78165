"""JSON log lines carrying the request id and the user, and the middleware that sets both.

python-json-logger writes one object per line: time, level, logger, message and any
`extra=` fields. This module adds request_id, user, and `upstream_request_id` when a
VoucherifyError is logged; fields named like a secret are redacted, and the configured
secrets themselves are blanked wherever they appear.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from dashboard.voucherify.errors import VoucherifyError

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "[redacted]"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_SECRET_NAME = re.compile(
    r"token|key|secret|passw|authori[sz]ation|cookie|session|credential", re.IGNORECASE
)
_MIN_SECRET_LENGTH = 6


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    request: Any  # the HttpRequest, read lazily for the user


_current: ContextVar[RequestContext | None] = ContextVar("dashboard_request", default=None)


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def request_id_for(incoming: str) -> str:
    """The client's X-Request-ID when it is sane, else a new one."""
    return incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Take a sane X-Request-ID from the client (or make one), log with it, echo it back."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
        request.request_id = request_id
        token = _current.set(RequestContext(request_id, request))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Give every record `request_id` (or "-") so plain-text formats can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = getattr(record, "request", None)
            record.request_id = current_request_id() or getattr(request, "request_id", "-")
        return True


class JsonFormatter(LibraryJsonFormatter):
    """python-json-logger's lines with our names, the request's context, and no secrets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger",
                           "exc_info": "exception", "stack_info": "stack"},
            timestamp="time",
            # Django passes the HttpRequest as `extra`; request_id is set below from context.
            reserved_attrs=[*RESERVED_ATTRS, "request", "request_id"],
            json_ensure_ascii=False,
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            log_data.update(_access_fields(record.args))
            return
        context = _current.get()
        # Django logs 4xx/5xx responses after the middleware chain returned, passing the request.
        request = context.request if context else getattr(record, "request", None)
        request_id = context.request_id if context else getattr(request, "request_id", None)
        if request_id:
            log_data["request_id"] = request_id
        user = _username(request)
        if user:
            log_data["user"] = user
        upstream_id = _upstream_request_id(record)
        if upstream_id:
            log_data["upstream_request_id"] = upstream_id

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {"time": log_data.pop("time"), **log_data}  # the time first, for people
        return _redacted(ordered, list(_known_secrets()))


class QuietPollsFilter(logging.Filter):
    """gunicorn's access log without the htmx polls that were answered (200, 204 unchanged,
    286 stopped): hundreds a second with many viewers, each a JSON line costing more than
    the poll itself. Their counts and times stay in the metrics; refused or failed polls
    (4xx, 5xx) are still logged. GUNICORN_LOG_POLLS=1 logs every one."""

    ANSWERED = ("200", "204", "286")

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        return not (atoms.get("{hx-request}i") == "true"
                    and str(atoms.get("s")) in self.ANSWERED)


class ClientMistakeFilter(logging.Filter):
    """A Host header not in ALLOWED_HOSTS is the client's mistake (a scanner, a probe sent
    without the right Host): one WARNING line, not an ERROR with a traceback every probe."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: everything to stderr, as JSON lines or as plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "client_mistake": {"()": ClientMistakeFilter},
        },
        "loggers": {"django.security.DisallowedHost": {"filters": ["client_mistake"]}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }


def _access_fields(atoms: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's access record: pick named atoms, never the request headers it also holds."""

    def atom(key: str) -> Any:
        value = atoms.get(key)
        return None if value in (None, "-") else value

    status = atom("s")
    return {
        "message": f"{atom('m')} {atom('U')} {status}",
        "request_id": atom("{x-request-id}o"),
        "method": atom("m"),
        "path": atom("U"),
        "query": atom("q") or None,
        "status": int(status) if str(status).isdigit() else status,
        "bytes": atom("B"),
        "duration_ms": round(int(atom("D") or 0) / 1000, 3),
        "remote_addr": atom("h"),
        "user_agent": atom("a"),
    }


def _username(request: Any) -> str | None:
    # Only a user the request has already loaded: logging must never query the database.
    user = getattr(request, "__dict__", {}).get("_cached_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return user.get_username()
    return None


def _upstream_request_id(record: logging.LogRecord) -> str | None:
    explicit = getattr(record, "upstream_request_id", None)
    if explicit:
        return str(explicit)
    candidates: list[Any] = list(record.args) if isinstance(record.args, tuple) else []
    if record.exc_info and record.exc_info[1] is not None:
        candidates.insert(0, record.exc_info[1])
    for candidate in candidates:
        if isinstance(candidate, VoucherifyError) and candidate.request_id:
            return candidate.request_id
    return None


def _redacted(value: Any, secrets: list[str]) -> Any:
    """Values under secret-like names redacted, configured secrets blanked in any text."""
    if value is None or isinstance(value, int | float | bool | datetime):
        return value
    if isinstance(value, dict):
        return {
            str(key): REDACTED if _SECRET_NAME.search(str(key)) else _redacted(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item, secrets) for item in value]
    text = str(value)  # an object's repr could carry a secret too
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _known_secrets() -> Iterator[str]:
    """The secrets this process is configured with, so no log line can carry one."""
    from django.conf import settings

    if not settings.configured:
        return
    values: list[Any] = [settings.SECRET_KEY, getattr(settings, "METRICS_TOKEN", None)]
    upstream = getattr(settings, "VOUCHERIFY", None)
    values += [getattr(upstream, "app_token", None), getattr(upstream, "bearer_token", None)]
    values += [db.get("PASSWORD") for db in settings.DATABASES.values()]
    for cache in settings.CACHES.values():
        location = cache.get("LOCATION")
        if isinstance(location, str) and "@" in location:
            userinfo = location.partition("://")[2].rpartition("@")[0]
            values.append(userinfo.rpartition(":")[2])
    for value in values:
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
            yield value
