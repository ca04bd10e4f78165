"""Words for people, not for the people who run the dashboard: roles, admins-only hints."""

from __future__ import annotations

import pytest

from dashboard.accounts.roles import role_for_path
from tests.list_html import soup, text


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


def test_the_failure_share_counts_actions_done_with_failed_rows():
    from dashboard.history.charts import type_figures

    (figures,) = type_figures([
        ("VOUCHERS.IMPORT", "DONE", "", 10, 299),  # finished, but 299 rows failed
        ("VOUCHERS.IMPORT", "DONE", "", 10, 0),
        ("VOUCHERS.IMPORT", "FAILED", "", 10, None),
        ("VOUCHERS.IMPORT", "DONE", "", 10),  # failed rows not known
    ])
    assert (figures.failed, figures.partial, figures.total) == (1, 1, 4)
    assert figures.failure_percent == "50.0"


@pytest.mark.django_db
def test_the_overview_reads_failed_rows_from_the_archive(auditor_client):
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.history.archive import archive_action
    from dashboard.voucherify.models import Action

    created = timezone.now() - timedelta(hours=1)
    archive_action(Action.from_json({
        "id": "aa_0f00000000000000c1", "type": "CUSTOMERS.IMPORT_CSV", "status": "DONE",
        "created_at": created.isoformat(), "updated_at": created.isoformat(),
        "processing_time": 1000, "result": {"done_count": 1, "failed_count": 299},
    }), detail=True)
    row = soup(auditor_client.get("/overview/")).select_one(
        "table.types-table tr[data-type='CUSTOMERS.IMPORT_CSV']")
    cells = [td.get_text(strip=True) for td in row.select("td")]
    assert cells[:4] == ["1", "0", "1", "100.0 %"]
