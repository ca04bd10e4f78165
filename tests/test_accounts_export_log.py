"""Each CSV export is recorded (who, what, when) and listed for auditors."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from dashboard.accounts.exports import record_export
from dashboard.accounts.models import ExportRecord

pytestmark = pytest.mark.django_db
URL = "/audit/exports/"


def export_request(user=None, ip="192.0.2.7"):
    request = RequestFactory().get("/actions/aa_0c5543f00797b6113f/failures.csv", REMOTE_ADDR=ip)
    request.user = user or AnonymousUser()
    return request


def rows(response) -> list[list[str]]:
    soup = BeautifulSoup(response.content, "html.parser")
    return [
        [cell.get_text(strip=True) for cell in tr.select("td")] for tr in soup.select("tbody tr")
    ]


def test_record_export_stores_who_what_and_where(user_factory):
    user = user_factory("support")
    record_export(
        export_request(user), what="failures.csv", action_id="aa_0c5543f00797b6113f", rows=3
    )
    record = ExportRecord.objects.get()
    assert (record.user, record.username, record.what) == (user, user.username, "failures.csv")
    assert (record.action_id, record.rows, record.ip) == ("aa_0c5543f00797b6113f", 3, "192.0.2.7")
    assert record.created_at is not None


def test_record_export_tolerates_a_missing_address_and_optional_fields(user_factory):
    record_export(export_request(user_factory("support"), ip="not-an-ip"), what="purges.csv")
    record = ExportRecord.objects.get()
    assert (record.ip, record.action_id, record.rows) == (None, "", None)


def test_the_log_keeps_the_username_when_the_user_is_deleted(user_factory):
    user = user_factory("support")
    record_export(export_request(user), what="failures.csv")
    user.delete()
    record = ExportRecord.objects.get()
    assert record.user is None
    assert record.username == "support-user"


def test_auditors_see_exports_newest_first(auditor_client, user_factory):
    user = user_factory("support")
    for what in ("first.csv", "second.csv", "third.csv"):
        record_export(export_request(user), what=what, rows=1)
    response = auditor_client.get(URL)
    assert response.status_code == 200
    assert [row[2] for row in rows(response)] == ["third.csv", "second.csv", "first.csv"]
    assert rows(response)[0][1] == "support-user"


def test_the_log_is_paginated(auditor_client, user_factory):
    user = user_factory("support")
    ExportRecord.objects.bulk_create(
        ExportRecord(user=user, username=user.username, what=f"{n}.csv") for n in range(60)
    )
    assert len(rows(auditor_client.get(URL))) == 50
    assert len(rows(auditor_client.get(URL, {"page": 2}))) == 10


@pytest.mark.parametrize(
    "query", ["page=abc", "page=-1", "page=99999", "sort=nonsense", "sort=-ip", "per_page=-3"]
)
def test_bad_query_parameters_fall_back_quietly(auditor_client, query):
    assert auditor_client.get(f"{URL}?{query}").status_code == 200


def test_recorded_strings_are_escaped(auditor_client, user_factory):
    ExportRecord.objects.create(username="<script>alert(1)</script>", what="<img src=x>")
    response = auditor_client.get(URL)
    soup = BeautifulSoup(response.content, "html.parser")
    assert not soup.select("main script, main img")
    assert "<script>alert(1)</script>" in soup.select_one("tbody").get_text()


@pytest.mark.parametrize("role,status", [("operator", 403), ("support", 403), ("admin", 200)])
def test_only_auditors_and_superusers_see_the_log(client_for, role, status):
    response = client_for(role).get(URL)
    assert response.status_code == status
    if status == 403:
        assert "does not have access" in response.content.decode()


def test_the_nav_links_to_the_log_only_for_those_allowed(auditor_client, client_for):
    assert 'href="/audit/exports/"' in auditor_client.get("/accounts/password/").content.decode()
    auditor_client.logout()
    support = client_for("support")
    assert 'href="/audit/exports/"' not in support.get("/accounts/password/").content.decode()
