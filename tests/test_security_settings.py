"""Production settings from the environment, security headers and error pages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup
from django.template.loader import render_to_string
from django.test import Client

from tests.helpers.repo import ROOT

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "dashboard.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://dashboard.example.com",
    "VOUCHERIFY_API_URL": "https://api.voucherify.io",
    "VOUCHERIFY_APP_ID": "production-app-id",
    "VOUCHERIFY_APP_TOKEN": "production-app-token",
}
EXPECTED_CSP = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'"},
    "font-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}


def csp(response) -> dict[str, set[str]]:
    """The Content-Security-Policy header as {directive: sources}."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {words[0]: set(words[1:]) for words in directives if words}


def run_django(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        **PRODUCTION_ENV,
        **env,
    }
    environ = {name: value for name, value in environ.items() if value is not None}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def production_setting(name: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings as s; print(s.{name})"
    result = run_django("-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_deploy_is_clean_with_production_settings():
    result = run_django("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_key_is_one_clear_sentence():
    result = run_django("manage.py", "check", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(64))
    result = run_django(
        "manage.py", "check", "--deploy", DJANGO_SECRET_KEY="", DJANGO_SECRET_KEY_FILE=str(key_file)
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "name,value",
    [
        ("SESSION_COOKIE_SECURE", "True"),
        ("CSRF_COOKIE_SECURE", "True"),
        ("SECURE_SSL_REDIRECT", "True"),
        ("SECURE_HSTS_SECONDS", "31536000"),
        ("SECURE_PROXY_SSL_HEADER", "None"),
        ("ALLOWED_HOSTS", "['dashboard.example.com']"),
    ],
)
def test_production_defaults_are_secure(name, value):
    assert production_setting(name) == value


@pytest.mark.parametrize(
    "env,name,value",
    [
        (
            {"DJANGO_PROXY_SSL_HEADER": "1"},
            "SECURE_PROXY_SSL_HEADER",
            "('HTTP_X_FORWARDED_PROTO', 'https')",
        ),
        ({"DJANGO_SECURE_COOKIES": "0"}, "SESSION_COOKIE_SECURE", "False"),
        ({"DJANGO_SSL_REDIRECT": "off"}, "SECURE_SSL_REDIRECT", "False"),
        ({"DJANGO_HSTS_SECONDS": "600"}, "SECURE_HSTS_SECONDS", "600"),
        ({"DJANGO_SESSION_IDLE_SECONDS": "900"}, "SESSION_COOKIE_AGE", "900"),
    ],
)
def test_the_environment_overrides_the_defaults(env, name, value):
    assert production_setting(name, **env) == value


@pytest.mark.django_db
def test_security_headers_on_a_page(operator_client):
    response = operator_client.get("/accounts/password/")
    assert csp(response) == EXPECTED_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_security_headers_on_the_login_page_and_errors(client):
    for response in (client.get("/accounts/login/"), client.get("/healthz")):
        assert csp(response) == EXPECTED_CSP
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_hsts_on_https_requests(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_the_csp_allows_nothing_inline():
    assert not any("unsafe" in source for sources in EXPECTED_CSP.values() for source in sources)


@pytest.mark.django_db
def test_a_bad_host_gets_the_400_page(client):
    response = client.get("/healthz", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_page_gets_the_404_page(operator_client):
    response = operator_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.content.decode()
    assert csp(response) == EXPECTED_CSP


@pytest.mark.parametrize(
    "template", ["400.html", "403.html", "403_csrf.html", "404.html", "500.html"]
)
def test_error_pages_are_a_sentence_in_the_site_layout(template):
    # 500.html is rendered without a request, as Django's server_error view does.
    soup = BeautifulSoup(render_to_string(template), "html.parser")
    assert soup.select_one("main h1") and soup.select_one("main p").get_text(strip=True)
    assert not soup.select("script:not([src]), [style]")


@pytest.mark.django_db
def test_a_missing_csrf_token_gets_the_friendly_page(user_factory, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_factory("operator"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()


@pytest.mark.django_db
def test_pages_carry_the_csrf_token_for_htmx(operator_client):
    soup = BeautifulSoup(operator_client.get("/accounts/password/").content, "html.parser")
    assert len(soup.select_one('meta[name="csrf-token"]')["content"]) >= 32
    # No htmx request posts (forms post as plain forms with their own token), so no script adds
    # the token to htmx requests; one that starts posting must bring that back.
    hx_writes = ("hx-post", "hx-put", "hx-patch", "hx-delete")
    for template in (ROOT / "templates").rglob("*.html"):
        assert not any(verb in template.read_text() for verb in hx_writes), template
