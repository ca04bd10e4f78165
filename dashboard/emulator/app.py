"""The emulator without HTTP: one request in, one response out, with limits, faults, stats."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from . import api, schemas
from .auth import DEFAULT_TOKEN_TTL, METADATA_SCHEMA_SCOPES, Auth
from .control_api import handle_control
from .faults import Faults
from .limits import RateLimiter
from .responses import JSON_TYPE, Response, error
from .seed import DEFAULT_SEED
from .stats import Stats
from .store import Clock, Store

CONTROL_PREFIX = "/_emulator/"
# (template, pattern, method): the /v1 routes, named by template in stats and fault filters.
V1_ROUTES = (
    ("/v1/async-actions", re.compile(r"^/v1/async-actions$"), "GET"),
    ("/v1/async-actions/{id}", re.compile(r"^/v1/async-actions/([^/]+)$"), "GET"),
    ("/v1/metadata-schemas", re.compile(r"^/v1/metadata-schemas$"), "GET"),
    ("/v1/metadata-schemas/{resource}", re.compile(r"^/v1/metadata-schemas/([^/]+)$"), "GET"),
    ("/v1/oauth/token", re.compile(r"^/v1/oauth/token$"), "POST"),
    ("/v1/oauth/introspect", re.compile(r"^/v1/oauth/introspect$"), "POST"),
    ("/v1/oauth/token/revoke", re.compile(r"^/v1/oauth/token/revoke$"), "POST"),
)


@dataclass
class Request:
    method: str
    target: str  # path and query string, as sent
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    client: str = "127.0.0.1"

    @property
    def path(self) -> str:
        path = urlsplit(self.target).path
        return path.rstrip("/") or "/"

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def form(self) -> dict[str, str]:
        fields = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[0] for name, values in fields.items()}


@dataclass
class Settings:
    rate_limit: int = 6000
    token_ttl: float = DEFAULT_TOKEN_TTL
    live_every: float = 60


class Emulator:
    def __init__(self, app_id: str, app_token: str, *, rate_limit: int = 6000,
                 seed: int = DEFAULT_SEED, live_every: float = 60, clock: Clock | None = None,
                 token_ttl: float = DEFAULT_TOKEN_TTL,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.defaults = Settings(rate_limit, token_ttl, live_every)
        self.store = Store(seed=seed, live_every=live_every, clock=clock)
        self.schemas = schemas.SchemaBook(seed, self.store.start_ms, self.store.now_ms)
        self.auth = Auth(app_id, app_token, token_ttl)
        self.limiter = RateLimiter(rate_limit)
        self.faults = Faults(seed)
        self.stats = Stats()
        self.sleep = sleep

    def now(self) -> float:
        return self.store.clock().timestamp()

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            return handle_control(self, request)
        if path == "/v1" or path.startswith("/v1/"):
            return self._v1(request)
        return error(404, f"No route {path}")

    def settings(self) -> dict:
        return {"rate_limit": self.limiter.limit, "token_ttl": self.auth.token_ttl,
                "live_every": self.store.live_every}

    def configure(self, rate_limit: int | None = None, token_ttl: float | None = None,
                  live_every: float | None = None) -> dict:
        if rate_limit is not None:
            self.limiter.limit = rate_limit
        if token_ttl is not None:
            self.auth.token_ttl = token_ttl
        if live_every is not None and live_every != self.store.live_every:
            self.store.set_live_every(live_every)
        return self.settings()

    def reset(self, rate_limit: int | None = None, token_ttl: float | None = None,
              live_every: float | None = None) -> dict:
        """The seeded state again: no created actions, faults, stats, counters or tokens."""
        defaults = self.defaults
        self.store.reset(defaults.live_every if live_every is None else live_every)
        self.schemas.reset()
        self.faults.clear()
        self.stats.clear()
        self.limiter.reset()
        self.limiter.limit = defaults.rate_limit if rate_limit is None else rate_limit
        self.auth.forget_tokens()
        self.auth.token_ttl = defaults.token_ttl if token_ttl is None else token_ttl
        return self.settings()

    def _v1(self, request: Request) -> Response:
        now = self.now()
        template, argument, method = _route(request.path)
        allowed, rate_headers = self.limiter.hit(now)
        if not allowed:
            response = error(429, f"Exceeded the limit of {self.limiter.limit} API requests "
                             "per minute", headers=rate_headers)
        else:
            injection = self.faults.decide(template)
            if injection.delay:
                self.sleep(injection.delay)
            if injection.drop:
                self.stats.record(now, request.method, template, 0)
                return Response(0, drop=True)
            response = injection.response or self._answer(request, template, argument, method,
                                                          now)
            if injection.spoil is not None and response.status == 200:
                response = Response(200, injection.spoil, {"Content-Type": JSON_TYPE})
            response.headers = {**rate_headers, **response.headers}
        self.stats.record(now, request.method, template, response.status)
        return response

    def _answer(self, request: Request, template: str, argument: str | None,
                method: str | None, now: float) -> Response:
        if method is None:
            return error(404, f"No route {request.path}")
        if request.method != method:
            return error(405, f"{template} accepts {method} only", headers={"Allow": method})
        if template.startswith("/v1/oauth/"):
            problem = self.auth.keys_problem(request.headers)
            if problem:
                return error(401, problem)
            form = request.form()
            if template == "/v1/oauth/token":
                return self.auth.issue(form, now)
            if template == "/v1/oauth/introspect":
                return self.auth.introspect(form, now)
            return self.auth.revoke(form)
        if template.startswith("/v1/metadata-schemas"):
            problem = self.auth.problem(request.headers, now, METADATA_SCHEMA_SCOPES)
            if problem:
                return error(401, problem)
            if argument is None:
                return schemas.list_response(self.schemas)
            return schemas.get_response(self.schemas, argument)
        problem = self.auth.problem(request.headers, now)
        if problem:
            return error(401, problem)
        if argument is None:
            return api.list_actions(self.store, request.query)
        return api.get_action(self.store, argument)


def _route(path: str) -> tuple[str, str | None, str | None]:
    """(template, path argument, method) of a /v1 path; unknown paths are their own template."""
    for template, pattern, method in V1_ROUTES:
        match = pattern.match(path)
        if match:
            return template, (unquote(match.group(1)) if match.groups() else None), method
    return path, None, None
