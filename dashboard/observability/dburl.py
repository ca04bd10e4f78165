"""DATABASE_URL -> a Django DATABASES entry (PostgreSQL through psycopg 3, or SQLite).

dj-database-url parses the URL; this module adds what the dashboard needs on top: only the two
engines it ships drivers for, Django's connection settings from the query, a connect timeout,
and errors that are one sentence without the password.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql"})
SCHEMES = POSTGRES_SCHEMES | {"sqlite"}
# Query parameters that are Django settings; dj-database-url would pass them to libpq.
_DJANGO_KEYS = {"conn_max_age": "CONN_MAX_AGE", "conn_health_checks": "CONN_HEALTH_CHECKS"}


def database_from_url(url: str, *, conn_max_age: int = 0) -> dict[str, Any]:
    """Parse `postgresql://user:pass@host:5432/name?sslmode=require` or `sqlite:///path`.

    A unix-socket host goes in `?host=/run/postgresql` or percent-encoded in the host part.
    The password never appears in an error message.
    """
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise ImproperlyConfigured(
            "DATABASE_URL must start with postgresql:// (or postgres://) or sqlite:///, "
            f"not {scheme + '://' if scheme else 'nothing'}."
        )
    try:
        entry: dict[str, Any] = dict(dj_database_url.parse(
            url, conn_max_age=conn_max_age, conn_health_checks=conn_max_age > 0
        ))
    except (dj_database_url.ParseError, ValueError):
        raise ImproperlyConfigured(
            "DATABASE_URL is not a valid URL: check that its port is a number and that "
            "special characters in the user or password are percent-encoded."
        ) from None
    if scheme == "sqlite":
        return entry
    if not entry["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL names no database (…/dbname at the end).")
    options = entry.setdefault("OPTIONS", {})
    for key, setting in _DJANGO_KEYS.items():
        if key in options:
            entry[setting] = _django_value(key, options.pop(key))
    options.setdefault("connect_timeout", 5)  # an unreachable host fails readyz, not hangs it
    return entry


def _django_value(key: str, value: object) -> int | bool:
    if key == "conn_health_checks":
        return value is True or str(value).lower() in {"1", "true", "yes", "on"}
    if isinstance(value, bool) or not str(value).isdigit():
        raise ImproperlyConfigured(f"DATABASE_URL's {key} must be a whole number of seconds.")
    return int(value)
