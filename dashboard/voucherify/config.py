"""Where and how to reach Voucherify, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

CLUSTERS = {
    "eu": "https://api.voucherify.io",
    "us1": "https://us1.api.voucherify.io",
    "as1": "https://as1.api.voucherify.io",
}
AUTH_MODES = ("keys", "oauth", "bearer")
# The embedded emulator's fixed demo keys, used only when nothing else is configured.
EMULATOR_URL = "http://127.0.0.1:8001"
DEMO_APP_ID = "demo-app-id"
DEMO_APP_TOKEN = "demo-app-token"


class ConfigurationError(ValueError):
    """Missing or contradictory settings; its message is one sentence for the operator."""


@dataclass(frozen=True)
class VoucherifyConfig:
    base_url: str
    app_id: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    auth: str = "keys"
    bearer_token: str | None = field(default=None, repr=False)
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    retries: int = 2
    backoff_factor: float = 0.3
    backoff_max: float = 4.0

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ConfigurationError(
                f"VOUCHERIFY_AUTH must be 'keys' or 'oauth' (or 'bearer' with "
                f"VOUCHERIFY_BEARER_TOKEN), not {self.auth!r}."
            )
        _check_base_url(self.base_url)
        if self.auth in ("keys", "oauth") and not (self.app_id and self.app_token):
            missing = "VOUCHERIFY_APP_TOKEN" if self.app_id else "VOUCHERIFY_APP_ID"
            if self.auth == "oauth":
                raise ConfigurationError(
                    f"VOUCHERIFY_AUTH=oauth exchanges the project's server-side keys for a "
                    f"token, so it needs both VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN "
                    f"({missing} is missing)."
                )
            if self.app_id or self.app_token:
                raise ConfigurationError(
                    f"{missing} is missing: set both VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN "
                    "(the project's server-side keys)."
                )
            raise ConfigurationError(
                "Set both VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN (the project's server-side "
                "keys), or VOUCHERIFY_BEARER_TOKEN."
            )
        if self.auth == "bearer" and not self.bearer_token:
            raise ConfigurationError(
                "VOUCHERIFY_AUTH=bearer needs the token itself in VOUCHERIFY_BEARER_TOKEN."
            )
        for name, value in (("VOUCHERIFY_CONNECT_TIMEOUT", self.connect_timeout),
                            ("VOUCHERIFY_READ_TIMEOUT", self.read_timeout)):
            if not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds.")
        if not 0 <= self.retries <= 10:
            raise ConfigurationError("VOUCHERIFY_RETRIES must be a whole number from 0 to 10.")
        if self.backoff_factor < 0 or self.backoff_max < 0:
            raise ConfigurationError("The retry backoff must not be negative.")

    @property
    def api_url(self) -> str:
        return self.base_url.rstrip("/")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, *, allow_emulator_default: bool = False
    ) -> VoucherifyConfig:
        """Build the configuration; raise ConfigurationError with one sentence when it is wrong."""
        get = partial(read_secret, environ=environ)
        cluster = get("VOUCHERIFY_CLUSTER")
        url = get("VOUCHERIFY_API_URL")
        app_id = get("VOUCHERIFY_APP_ID")
        app_token = get("VOUCHERIFY_APP_TOKEN")
        bearer = get("VOUCHERIFY_BEARER_TOKEN")
        auth = (get("VOUCHERIFY_AUTH") or "").lower() or None

        if cluster and url:
            raise ConfigurationError(
                "Set VOUCHERIFY_CLUSTER or VOUCHERIFY_API_URL, not both."
            )
        if cluster:
            if cluster.lower() not in CLUSTERS:
                raise ConfigurationError(
                    f"VOUCHERIFY_CLUSTER must be one of {', '.join(CLUSTERS)}, not {cluster!r}; "
                    "for a dedicated cluster set VOUCHERIFY_API_URL instead."
                )
            url = CLUSTERS[cluster.lower()]
        nothing_set = not (url or app_id or app_token or bearer)
        if nothing_set and allow_emulator_default:
            return cls._with_timeouts(
                environ, base_url=EMULATOR_URL, app_id=DEMO_APP_ID, app_token=DEMO_APP_TOKEN,
                auth="oauth" if auth == "oauth" else "keys",
            )
        if not url:
            raise ConfigurationError(
                "Set VOUCHERIFY_CLUSTER (eu, us1 or as1) or VOUCHERIFY_API_URL to say which "
                "Voucherify API to read."
            )
        if bearer:
            if auth == "oauth":
                raise ConfigurationError(
                    "VOUCHERIFY_BEARER_TOKEN is a token issued elsewhere; it cannot be combined "
                    "with VOUCHERIFY_AUTH=oauth, which issues its own."
                )
            if auth == "keys":
                raise ConfigurationError(
                    "VOUCHERIFY_AUTH=keys contradicts VOUCHERIFY_BEARER_TOKEN: remove one of them."
                )
            if app_id or app_token:
                raise ConfigurationError(
                    "Set VOUCHERIFY_BEARER_TOKEN or the VOUCHERIFY_APP_ID/VOUCHERIFY_APP_TOKEN "
                    "keys, not both."
                )
            return cls._with_timeouts(environ, base_url=url, auth="bearer", bearer_token=bearer)
        if auth not in (None, *AUTH_MODES):
            raise ConfigurationError(
                f"VOUCHERIFY_AUTH must be 'keys' or 'oauth', not {auth!r}."
            )
        return cls._with_timeouts(
            environ, base_url=url, app_id=app_id, app_token=app_token, auth=auth or "keys"
        )

    @classmethod
    def _with_timeouts(cls, environ: Mapping[str, str], **kwargs: object) -> VoucherifyConfig:
        return cls(
            connect_timeout=_number(environ, "VOUCHERIFY_CONNECT_TIMEOUT", 3.05),
            read_timeout=_number(environ, "VOUCHERIFY_READ_TIMEOUT", 10.0),
            retries=_whole(environ, "VOUCHERIFY_RETRIES", 2),
            **kwargs,  # type: ignore[arg-type]
        )


def read_secret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """NAME, or the contents of the file NAME_FILE names (Docker/Kubernetes secrets).

    Blank counts as unset. Also used by dashboard.env, which turns the error into Django's.
    """
    file_name = environ.get(f"{name}_FILE", "").strip()
    if file_name and environ.get(name, "").strip():
        raise ConfigurationError(f"Set {name} or {name}_FILE, not both.")
    if file_name:
        try:
            return Path(file_name).read_text().strip() or None
        except OSError as exc:
            raise ConfigurationError(
                f"{name}_FILE names {file_name!r}, which cannot be read ({exc.strerror})."
            ) from None
    return environ.get(name, "").strip() or None


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.username or parts.password:
        # Never echo the URL here: it holds a secret.
        raise ConfigurationError(
            "VOUCHERIFY_API_URL must not contain credentials; set VOUCHERIFY_APP_ID and "
            "VOUCHERIFY_APP_TOKEN instead."
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"VOUCHERIFY_API_URL must be an http(s) URL such as {CLUSTERS['eu']}, "
            f"not {base_url[:80]!r}."
        )
    if parts.query or parts.fragment or parts.path.rstrip("/").endswith("/v1"):
        raise ConfigurationError(
            f"VOUCHERIFY_API_URL is the server's base URL without /v1 or a query, such as "
            f"{CLUSTERS['eu']}, not {base_url[:80]!r}."
        )


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw[:40]!r}.") from None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative.")
    return value
