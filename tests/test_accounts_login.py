"""Login, lockout after repeated failures, logout, password change and session expiry (an
active session is renewed even when the idle limit is at the touch period)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from dashboard.accounts.middleware import SessionIdleMiddleware
from tests.fixtures.users import ROLE_PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def login(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def alert(response) -> str:
    found = BeautifulSoup(response.content, "html.parser").select_one("[role=alert]")
    return found.get_text(" ", strip=True) if found else ""


def test_login_page_is_open_and_logging_in_leads_to_the_actions(client, user_factory):
    user = user_factory("operator")
    assert client.get(LOGIN).status_code == 200
    response = login(client, user.username, ROLE_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/actions/"


def test_wrong_password_shows_a_message(client, user_factory):
    user = user_factory("operator")
    response = login(client, user.username, "wrong")
    assert response.status_code == 200
    assert "did not match" in alert(response)


def test_five_failures_lock_the_username_even_for_the_right_password(
    client, user_factory, settings
):
    user = user_factory("operator")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert login(client, user.username, "wrong").status_code == 200
    locked = login(client, user.username, "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in alert(locked)
    assert int(locked["Retry-After"]) > 0
    # Another address does not help: the username itself is locked.
    again = login(client, user.username, ROLE_PASSWORD, ip="10.9.9.9")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lock_is_case_insensitive_on_the_username(client, user_factory, settings):
    user = user_factory("operator")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, user.username.upper(), "wrong")
    assert login(client, user.username, ROLE_PASSWORD).status_code == 429


def test_lock_ends_when_the_cache_entry_expires(client, user_factory, settings):
    user = user_factory("operator")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, user.username, "wrong")
    cache.clear()  # what the lock's timeout does after LOGIN_LOCKOUT_SECONDS
    assert login(client, user.username, ROLE_PASSWORD).status_code == 302


def test_a_successful_login_resets_the_username_count(client, user_factory, settings):
    user = user_factory("operator")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        login(client, user.username, "wrong")
    assert login(client, user.username, ROLE_PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert login(client, user.username, "wrong").status_code == 200
    assert login(client, user.username, ROLE_PASSWORD).status_code == 302


def test_many_failures_from_one_address_lock_that_address(client, user_factory, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 6
    user = user_factory("operator")
    for n in range(6):
        login(client, f"guess-{n}", "wrong", ip="10.6.6.6")
    assert login(client, user.username, ROLE_PASSWORD, ip="10.6.6.6").status_code == 429
    assert login(client, user.username, ROLE_PASSWORD, ip="10.7.7.7").status_code == 302


def test_logout_is_a_post_and_ends_the_session(operator_client):
    assert operator_client.get("/accounts/logout/").status_code == 405
    response = operator_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert operator_client.get("/audit/exports/")["Location"].startswith(LOGIN)


def test_password_change_replaces_the_old_password(client, user_factory):
    user = user_factory("support")
    login(client, user.username, ROLE_PASSWORD)
    assert client.get("/accounts/password/").status_code == 200
    new = "another-long-password-5521"
    response = client.post(
        "/accounts/password/",
        {"old_password": ROLE_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/done/"
    assert client.get("/accounts/password/done/").status_code == 200
    client.logout()
    assert login(client, user.username, ROLE_PASSWORD).status_code == 200
    assert login(client, user.username, new).status_code == 302


def test_password_change_with_a_wrong_old_password_is_refused(client, user_factory):
    user = user_factory("support")
    client.force_login(user)
    new = "another-long-password-5521"
    response = client.post(
        "/accounts/password/",
        {"old_password": "not-it", "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 200
    assert "incorrectly" in alert(response)
    user.refresh_from_db()
    assert user.check_password(ROLE_PASSWORD)


def test_password_change_needs_a_login(client):
    response = client.get("/accounts/password/")
    assert response["Location"] == f"{LOGIN}?next=/accounts/password/"


def test_activity_renews_the_idle_session_cookie(operator_client, settings):
    response = operator_client.get("/accounts/password/")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"]


def test_polls_renew_the_session_at_most_once_a_minute(operator_client, settings):
    operator_client.get("/accounts/password/")
    before = Session.objects.get().expire_date
    # Within SESSION_TOUCH_SECONDS no request writes the session store again.
    response = operator_client.get("/accounts/password/", HTTP_HX_REQUEST="true")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get().expire_date == before
    # Once that long has passed, the next request renews the expiry.
    settings.SESSION_TOUCH_SECONDS = 0
    response = operator_client.get("/accounts/password/", HTTP_HX_REQUEST="true")
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert Session.objects.get().expire_date >= before


def test_an_idle_session_expires(operator_client):
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    cache.clear()  # a session's cache entry (cached_db) lives exactly as long as the session
    response = operator_client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_unauthenticated_page_request_redirects_to_login(client):
    response = client.get("/audit/exports/?page=2")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/audit/exports/%3Fpage%3D2"


def test_unauthenticated_htmx_request_gets_401_with_a_redirect_to_the_page(client):
    response = client.get(
        "/audit/exports/?page=2",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/audit/exports/?sort=what",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"{LOGIN}?next=/audit/exports/%3Fsort%3Dwhat"


def test_htmx_redirect_ignores_a_current_url_on_another_host(client):
    response = client.get(
        "/audit/exports/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.example/x"
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"{LOGIN}?next=/audit/exports/"


def test_login_does_not_redirect_to_another_site(client, user_factory):
    user = user_factory("operator")
    response = client.post(
        LOGIN,
        {"username": user.username, "password": ROLE_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/actions/"


def test_health_check_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_password_change_errors_are_tied_to_their_fields(operator_client):
    response = operator_client.post(
        "/accounts/password/",
        {"old_password": "not-it", "new_password1": "a", "new_password2": "b"},
    )
    page = BeautifulSoup(response.content, "html.parser")
    old = page.select_one("#id_old_password")
    assert old["aria-invalid"] == "true"
    assert page.select_one(f"#{old['aria-describedby']}").get_text(strip=True)


@pytest.mark.django_db
def test_a_session_idle_limit_at_or_below_the_touch_period_is_still_renewed(
    operator_client, settings
):
    settings.SESSION_COOKIE_AGE = 60  # DJANGO_SESSION_IDLE_SECONDS at its minimum
    settings.SESSION_TOUCH_SECONDS = 60  # the default
    operator_client.get("/accounts/password/")
    # The last renewal was 31 s ago: another 30 s without one would end an active session.
    session = operator_client.session
    session[SessionIdleMiddleware.KEY] = int(time.time()) - 31
    session.save()
    before = Session.objects.get().expire_date

    response = operator_client.get("/accounts/password/", HTTP_HX_REQUEST="true")
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert Session.objects.get().expire_date > before
