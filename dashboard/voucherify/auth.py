"""How requests prove who they are: app keys, an OAuth token the client renews, or a given token.

Secrets live only in these objects' private attributes; their reprs never show them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import VoucherifyConfig
from .errors import AuthenticationError, InvalidResponseError, VoucherifyError
from .numbers import finite_number

logger = logging.getLogger(__name__)

TOKEN_ENDPOINT = "/v1/oauth/token"
# Least privilege: these scopes read async actions and metadata schemas (the purge audit's key
# history) and allow nothing else.
TOKEN_SCOPE = "async-actions metadata-schemas"
# Renew this long before expiry (at most a tenth of the token's life for short-lived tokens).
RENEW_MARGIN = 60.0
DEFAULT_TOKEN_LIFETIME = 900.0

# (path, form data, headers) -> decoded JSON body of a 2xx response; raises VoucherifyError.
TokenFetcher = Callable[[str, dict[str, str], dict[str, str]], Any]


class Authenticator:
    """Supplies the headers of each request and says whether a 401 deserves one more try."""

    mode = "none"
    rejected_message = AuthenticationError.default_message

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def renew_after_rejection(self, used: dict[str, str]) -> bool:
        """Called after a 401 for a request sent with `used`; True: send it once more."""
        return False

    def explain(self, error: VoucherifyError) -> VoucherifyError:
        """Reword a 401 so the operator knows which setting to fix."""
        if isinstance(error, AuthenticationError) and error.status == 401:
            return AuthenticationError(
                self.rejected_message, status=error.status, key=error.key,
                details=error.details, request_id=error.request_id,
            )
        return error

    def __repr__(self) -> str:
        return f"<{type(self).__name__} mode={self.mode}>"


class KeysAuth(Authenticator):
    mode = "keys"
    rejected_message = (
        "Voucherify rejected VOUCHERIFY_APP_ID/VOUCHERIFY_APP_TOKEN: check the project's "
        "server-side API keys."
    )

    def __init__(self, app_id: str, app_token: str) -> None:
        self.__headers = {"X-App-Id": app_id, "X-App-Token": app_token}

    def headers(self) -> dict[str, str]:
        return dict(self.__headers)


class BearerAuth(Authenticator):
    mode = "bearer"
    rejected_message = (
        "Voucherify rejected VOUCHERIFY_BEARER_TOKEN: the token is wrong or has expired; "
        "issue a new one."
    )

    def __init__(self, token: str) -> None:
        self.__token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.__token}"}


class OAuthAuth(Authenticator):
    """Exchanges the app keys for a bearer token, reuses it and renews it in time."""

    mode = "oauth"
    rejected_message = (
        "Voucherify rejected the OAuth token even after renewing it: check that the API keys "
        "may use the async-actions and metadata-schemas scopes."
    )

    def __init__(
        self,
        app_id: str,
        app_token: str,
        fetch: TokenFetcher,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.__keys = {"X-App-Id": app_id, "X-App-Token": app_token}
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self.__token: str | None = None
        self._renew_at = 0.0

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self.__token is None or self._clock() >= self._renew_at:
                self._issue()
            return {"Authorization": f"Bearer {self.__token}"}

    def renew_after_rejection(self, used: dict[str, str]) -> bool:
        with self._lock:
            # Another thread may already have replaced the rejected token.
            if used.get("Authorization") == f"Bearer {self.__token}":
                self.__token = None
                self._issue()
        return True

    def _issue(self) -> None:
        form = {"grant_type": "client_credentials", "scope": TOKEN_SCOPE}
        try:
            body = self._fetch(TOKEN_ENDPOINT, form, dict(self.__keys))
        except AuthenticationError as exc:
            raise AuthenticationError(
                "Voucherify refused to issue an OAuth token for VOUCHERIFY_APP_ID/"
                "VOUCHERIFY_APP_TOKEN: check the project's server-side API keys.",
                status=exc.status, key=exc.key, details=exc.details, request_id=exc.request_id,
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise InvalidResponseError("Voucherify's OAuth token response held no access_token.")
        lifetime = _lifetime(body)
        self.__token = token
        self._renew_at = self._clock() + lifetime - min(RENEW_MARGIN, lifetime / 10)
        logger.debug("Obtained an OAuth token valid for %.0f s.", lifetime)


def _lifetime(body: dict[str, Any]) -> float:
    """Seconds the token lives: `expires_in`, else `expires_at` from now, else the default. A
    value that is no finite number (NaN, Infinity, a text, true), or no time left at all (0,
    negative, a moment past), is not read: read as 0 it asked for a new token before every
    call, each paid from the budget (a token that does die early is renewed after its 401)."""
    seconds = finite_number(body.get("expires_in"))
    if seconds is None or seconds <= 0:
        moment = finite_number(body.get("expires_at"))
        seconds = None if moment is None else moment - time.time()
    return DEFAULT_TOKEN_LIFETIME if seconds is None or seconds <= 0 else seconds


def authenticator_for(config: VoucherifyConfig, fetch: TokenFetcher) -> Authenticator:
    if config.auth == "bearer":
        return BearerAuth(config.bearer_token or "")
    if config.auth == "oauth":
        return OAuthAuth(config.app_id or "", config.app_token or "", fetch)
    return KeysAuth(config.app_id or "", config.app_token or "")
