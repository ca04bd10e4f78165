"""DATABASE_URL parsing: PostgreSQL (TCP, unix socket, options), SQLite, and bad URLs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler

from dashboard.observability.dburl import database_from_url


def libpq_params(entry: dict) -> dict:
    """What Django hands psycopg for this entry (no connection is made)."""
    return ConnectionHandler({"default": entry})["default"].get_connection_params()


def test_postgres_url_with_credentials_host_port_and_options():
    entry = database_from_url(
        "postgresql://dash%40board:p%3Ass@db.internal:6432/actions?sslmode=require",
        conn_max_age=60,
    )
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"]) == ("actions", "dash@board", "p:ss")
    assert (entry["HOST"], entry["PORT"]) == ("db.internal", 6432)
    assert entry["OPTIONS"] == {"sslmode": "require", "connect_timeout": 5}
    assert entry["CONN_MAX_AGE"] == 60 and entry["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("postgres://u@%2Ftmp%2FPgData/db", "/tmp/PgData", None),
        ("postgresql://u@/db?host=/run/postgresql&port=5433", "/run/postgresql", 5433),
        ("pgsql://u@[::1]:5432/db", "::1", 5432),
        ("postgresql:///db", None, None),
    ],
)
def test_postgres_hosts_keep_case_sockets_and_ipv6(url, host, port):
    params = libpq_params(database_from_url(url))
    assert (params.get("host"), params.get("port")) == (host, port)
    assert params["dbname"] == "db"


def test_django_settings_in_the_query_are_not_passed_to_libpq():
    entry = database_from_url("postgresql://u@h/db?conn_max_age=30&conn_health_checks=false")
    assert entry["CONN_MAX_AGE"] == 30 and entry["CONN_HEALTH_CHECKS"] is False
    assert "conn_max_age" not in entry["OPTIONS"]
    assert "conn_max_age" not in libpq_params(entry)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:////var/lib/dashboard/db.sqlite3", "/var/lib/dashboard/db.sqlite3"),
        ("sqlite:///db.sqlite3", "db.sqlite3"),
        ("sqlite://", ":memory:"),
        ("sqlite://:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url, name):
    entry = database_from_url(url)
    assert (entry["ENGINE"], entry["NAME"]) == ("django.db.backends.sqlite3", name)
    assert not entry.get("OPTIONS")


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("mysql://root:hunter2-secret@h/db", "must start with postgresql://"),
        ("localhost:5432", "must start with postgresql://"),
        ("postgresql://u:hunter2-secret@h/", "names no database"),
        ("postgresql://u:hunter2-secret@h:port/db", "port is a number"),
        ("postgresql://u@h/db?conn_max_age=soon", "whole number of seconds"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_the_password(url, sentence):
    with pytest.raises(ImproperlyConfigured, match=sentence) as caught:
        database_from_url(url)
    assert "hunter2" not in str(caught.value)
