"""An active user is never logged out because the idle limit is shorter than the touch period."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session

from dashboard.accounts.middleware import SessionIdleMiddleware


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
