"""Words for people, not for the people who run the dashboard: roles, admins-only hints."""

from __future__ import annotations

import pytest

from dashboard.accounts.roles import role_for_path
from tests.helpers.html import soup, text


@pytest.mark.parametrize(("role", "path", "needed"), [
    ("operator", "/audit/purges/", "auditor"),
    ("support", "/status/", "auditor"),
    ("operator", "/actions/aa_0c5543f00797b6113f/failures.csv", "support"),
    (None, "/actions/", "operator"),
])
def test_the_403_page_says_which_role_is_needed_and_whom_to_ask(
    client_for, emulator, role, path, needed
):
    response = client_for(role).get(path)
    assert response.status_code == 403
    said = text(response, ".role-needed")
    assert f"It needs the {needed} role" in said
    assert ("has no role yet" in said) if role is None else (f"has the {role} role" in said)
    assert "administrator" in text(response, ".whom-to-ask")
    duties = [li.get_text() for li in soup(response).select(".role-duties li")]
    assert [d.split(":")[0] for d in duties] == ["operator", "support", "auditor"]


def test_only_pages_that_need_a_role_name_one():
    assert role_for_path("/accounts/password_change/") is None
    assert role_for_path("/overview/") == "operator"


def test_an_inline_time_leaves_no_space_before_what_follows():
    from datetime import timedelta

    from django.template import Context, Template
    from django.utils import timezone

    moment = timezone.now() + timedelta(days=6, hours=1)
    html = Template('({% include "actions/_time.html" with moment=moment %})').render(
        Context({"moment": moment}))
    assert html.endswith("in 6 d</time>)")


def test_a_queued_action_is_waiting_not_running(support_client, emulator):
    action = emulator.create_action("VOUCHERS.IMPORT", duration=600)  # queued for a minute
    said = text(support_client.get(f"/actions/{action['id']}/"), ".detail-live")
    assert "Waiting in Voucherify's queue" in said
    assert "waiting for" in said and "running for" not in said
