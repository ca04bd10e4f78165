"""/healthz and /readyz: no login, no upstream call, and each dependency named when it fails;
corrected keys are not judged by the old keys' 401."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from django.core.cache import cache

LIST = "/actions/"


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_answers_without_login_or_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_cache_answer(client, empty_cache):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    # Nothing has called Voucherify yet: unknown, which is not a reason to refuse traffic.
    assert body["checks"]["upstream_credentials"]["status"] == "unknown"


@pytest.mark.django_db
def test_readyz_names_the_cache_when_redis_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["failing"] == ["cache"]
    assert "ConnectionError" in body["checks"]["cache"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["upstream_credentials"]["status"] == "unknown"


@pytest.mark.django_db
def test_readyz_reports_rejected_credentials_from_the_last_call_without_calling(
    emulator, operator_client, settings
):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    page = operator_client.get(LIST)
    assert page.status_code in (200, 502)  # the page explains; readiness reports
    assert emulator.count(status=401) >= 1
    emulator.clear_stats()

    response = operator_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["upstream_credentials"]
    assert "HTTP 401" in body["checks"]["upstream_credentials"]["detail"]
    assert emulator.stats()["total"] == 0  # the probe itself never calls Voucherify

    settings.VOUCHERIFY = emulator.config
    cache.clear()  # forget the failure the polling layer is backing off from
    operator_client.get(LIST)
    assert emulator.count(status=200) >= 1
    ready = operator_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["upstream_credentials"]["status"] == "ok"


def test_probes_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 404  # not a redirect: off without a token


@pytest.mark.django_db
def test_corrected_credentials_are_not_judged_by_the_old_ones_401(
    emulator, operator_client, settings
):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    operator_client.get(LIST)
    assert emulator.count(status=401) >= 1
    assert operator_client.get("/readyz").status_code == 503

    # A redeploy with the right keys, sharing the same cache (Redis), before any call.
    settings.VOUCHERIFY = emulator.config
    emulator.clear_stats()
    response = operator_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["upstream_credentials"]["status"] == "unknown"
    assert emulator.stats()["total"] == 0

    # And the old keys, were they put back, are still known to be rejected.
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    assert operator_client.get("/readyz").status_code == 503
