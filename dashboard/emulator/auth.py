"""App keys, OAuth bearer tokens and the three /v1/oauth endpoints."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from .responses import Response, empty, error, json_response

# The `scope` values oauth.openapi.json allows.
ALLOWED_SCOPES = frozenset((
    "api assets async-actions campaigns categories client_api client_consents client_customers "
    "client_events client_promotions client_publish client_qualifications client_redeem "
    "client_redemptions client_validate client_validations client_vouchers consents customers "
    "events exports locations loyalties metadata-schemas orders product-collections products "
    "promotions publications qualifications redemptions referrals rewards segments skus "
    "task-results templates trash-bin validation-rules-assignments validation-rules validations "
    "vouchers"
).split())
ASYNC_ACTION_SCOPES = frozenset(("api", "async-actions"))
METADATA_SCHEMA_SCOPES = frozenset(("api", "metadata-schemas"))
DEFAULT_TOKEN_TTL = 900
_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Token:
    value: str
    scope: tuple[str, ...]
    expires_at: float

    def view(self, now: float) -> dict:
        return {
            "access_token": self.value,
            "client_id": "",
            "expires_at": math.floor(self.expires_at),
            "expires_in": max(0, math.floor(self.expires_at - now)),
            "scope": " ".join(self.scope),
            "token_type": "Bearer",
        }


class Auth:
    """Checks credentials: the project's keys, or a bearer token this emulator issued."""

    def __init__(self, app_id: str, app_token: str, token_ttl: float = DEFAULT_TOKEN_TTL) -> None:
        self.app_id, self.app_token, self.token_ttl = app_id, app_token, token_ttl
        self.client_id = hashlib.sha256(app_id.encode()).hexdigest()[:21]
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._revoked: set[str] = set()

    def forget_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._revoked.clear()

    def revoke_all(self) -> None:
        with self._lock:
            self._revoked.update(self._tokens)
            self._tokens.clear()

    def keys_problem(self, headers: Mapping[str, str]) -> str | None:
        """Why the X-App-Id/X-App-Token pair is refused, or None when it is right."""
        app_id, app_token = headers.get("x-app-id"), headers.get("x-app-token")
        if not app_id or not app_token:
            return "Missing X-App-Id and X-App-Token headers or an Authorization: Bearer token"
        if not (_same(app_id, self.app_id) and _same(app_token, self.app_token)):
            return "Invalid X-App-Id or X-App-Token"
        return None

    def problem(self, headers: Mapping[str, str], now: float,
                scopes: frozenset[str] = ASYNC_ACTION_SCOPES) -> str | None:
        """Why a /v1 request needing one of `scopes` is refused, or None when it may pass."""
        authorization = headers.get("authorization")
        if not authorization:
            return self.keys_problem(headers)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return "Authorization header must be 'Bearer <token>'"
        value = value.strip()
        with self._lock:
            token = self._tokens.get(value)
            revoked = value in self._revoked
        if revoked:
            return "OAuth token has been revoked"
        if token is None:
            return "Invalid OAuth token"
        if now >= token.expires_at:
            return "OAuth token expired"
        if not scopes.intersection(token.scope):
            named = " or ".join(sorted(scopes - {"api"}) + ["api"])
            return f"OAuth token scope does not include {named}"
        return None

    def issue(self, form: Mapping[str, str], now: float) -> Response:
        """POST /v1/oauth/token."""
        grant_type, scope = form.get("grant_type"), form.get("scope")
        if not grant_type or not scope or not scope.strip():
            return error(400, "grant_type and scope are required", key="missing_parameters",
                         message="Missing parameters")
        if grant_type != "client_credentials":
            return error(400, "grant_type must be client_credentials", key="invalid_grant_type",
                         message="Invalid grant_type")
        scopes = tuple(dict.fromkeys(scope.split()))
        unknown = [value for value in scopes if value not in ALLOWED_SCOPES]
        if unknown:
            return error(400, "Separate scope values with spaces; allowed values are listed in "
                         "the API reference", key="invalid_scope",
                         message=f"Invalid scope: {','.join(unknown)}")
        value = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(50))
        token = Token(value, scopes, now + self.token_ttl)
        with self._lock:
            self._tokens[value] = token
        return json_response(200, self._view(token, now))

    def introspect(self, form: Mapping[str, str], now: float) -> Response:
        """POST /v1/oauth/introspect."""
        value = form.get("access_token")
        if not value:
            return error(400, "access_token is required", key="missing_parameters",
                         message="Missing parameters")
        with self._lock:
            token = self._tokens.get(value)
        if token is None or now >= token.expires_at:
            return json_response(200, {"active": False})
        return json_response(200, {**self._view(token, now), "active": True})

    def revoke(self, form: Mapping[str, str]) -> Response:
        """POST /v1/oauth/token/revoke: 204, or an empty 404 for an unknown token."""
        value = form.get("access_token", "")
        with self._lock:
            token = self._tokens.pop(value, None)
            if token is not None:
                self._revoked.add(value)
        return empty(204 if token else 404)

    def _view(self, token: Token, now: float) -> dict:
        return {**token.view(now), "client_id": self.client_id}


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
