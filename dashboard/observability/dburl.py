"""DATABASE_URL -> a Django DATABASES entry (PostgreSQL through psycopg 3, or SQLite)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql"})
# Query parameters that are Django settings rather than libpq connection options.
_DJANGO_KEYS = {"conn_max_age": "CONN_MAX_AGE", "conn_health_checks": "CONN_HEALTH_CHECKS"}


def database_from_url(url: str, *, conn_max_age: int = 0) -> dict[str, Any]:
    """Parse `postgresql://user:pass@host:5432/name?sslmode=require` or `sqlite:///path`.

    A unix-socket host goes in `?host=/run/postgresql` or percent-encoded in the host part.
    The password never appears in an error message.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _sqlite(parts.netloc, parts.path)
    if scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            "DATABASE_URL must start with postgresql:// (or postgres://) or sqlite:///, "
            f"not {scheme + '://' if scheme else 'nothing'}."
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL names no database (…/dbname at the end).")
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port = _host_and_port(hostinfo)
    options: dict[str, Any] = {}
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": host,
        "PORT": port,
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": conn_max_age > 0,
        "OPTIONS": options,
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key == "host":
            entry["HOST"] = value
        elif key == "port":
            entry["PORT"] = value
        elif key in _DJANGO_KEYS:
            entry[_DJANGO_KEYS[key]] = _django_value(key, value)
        else:
            options[key] = value
    options.setdefault("connect_timeout", "5")  # an unreachable host fails readyz, not hangs it
    return entry


def _sqlite(netloc: str, path: str) -> dict[str, Any]:
    # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:// or sqlite://:memory:
    name = unquote(path[1:]) if path else ""
    if not name or netloc == ":memory:" or name == ":memory:":
        name = ":memory:"
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}


def _host_and_port(hostinfo: str) -> tuple[str, str]:
    if hostinfo.startswith("["):  # [::1]:5432
        host, _, rest = hostinfo[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = hostinfo.partition(":")
    if port and not port.isdigit():
        raise ImproperlyConfigured(f"DATABASE_URL's port must be a number, not {port!r}.")
    return unquote(host), port


def _django_value(key: str, value: str) -> int | bool:
    if key == "conn_health_checks":
        return value.lower() in {"1", "true", "yes", "on"}
    if not value.isdigit():
        raise ImproperlyConfigured(f"DATABASE_URL's {key} must be a whole number of seconds.")
    return int(value)
