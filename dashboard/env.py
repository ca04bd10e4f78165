"""Reading settings from the environment: booleans, lists, numbers and secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from dashboard.voucherify.config import ConfigurationError, read_secret

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def boolean(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no or on/off, not {raw!r}."
    )


def integer(
    name: str, default: int, environ: Mapping[str, str] = os.environ, *, minimum: int = 0
) -> int:
    return _bounded(name, default, environ, int, "a whole number", minimum)


def number(
    name: str, default: float, environ: Mapping[str, str] = os.environ, *, minimum: float = 0
) -> float:
    return _bounded(name, default, environ, float, "a number", minimum)


def _bounded(name, default, environ, convert, kind: str, minimum):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def strings(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    try:
        return read_secret(name, environ)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None
