"""Each CSV export is recorded (who, what, when) and listed for auditors."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
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


def generated_records(user, seed: int = 7, count: int = 80) -> list[ExportRecord]:
    """Exports of failed rows (filtered or whole) and of the purge audit, seeded."""
    rng = random.Random(seed)
    reasons = ["Duplicated voucher code", "Customer Straße not found", "unit: must be a number"]
    made = []
    for n in range(count):
        what = rng.choice(["failures.csv", "failures.csv", "purges.csv"])
        filters = {}
        if what == "purges.csv" and rng.random() < 0.5:
            filters = {"object": rng.choice(["customers", "vouchers"])}
        elif what == "failures.csv" and rng.random() < 0.6:
            filters = {"reason": rng.choice(reasons)}
            if rng.random() < 0.3:
                filters["q"] = rng.choice(["example.com", "CODE-1"])
        action_id = f"aa_{rng.getrandbits(64):016x}{n:02x}" if what == "failures.csv" else None
        record_export(export_request(user), what=what, action_id=action_id, rows=n,
                      filters=filters, link="/x/" if filters else "")
        made.append(ExportRecord.objects.latest("id"))
    return made


def shown_ids(response) -> list[int]:
    """The Rows column of each line shown (generated_records numbers its exports by it)."""
    return [int(row[4]) for row in rows(response) if row]


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"scope": "filtered"}, lambda r: r.filter_text != ""),
        ({"scope": "whole"}, lambda r: r.filter_text == ""),
        ({"what": "purges.csv"}, lambda r: r.what == "purges.csv"),
        ({"filter": "straße"}, lambda r: "Straße" in r.filter_text),
        ({"filter": "SEARCH example"}, lambda r: "search example" in r.filter_text),
        ({"what": "failures.csv", "scope": "whole"},
         lambda r: r.what == "failures.csv" and not r.filter_text),
    ],
)
def test_the_log_is_filtered_by_the_filter_used_and_by_export(auditor_client, user_factory,
                                                              params, wanted):
    made = generated_records(user_factory("support"))
    expected = sorted((r.rows for r in made if wanted(r)), reverse=True)
    assert expected and len(expected) < len(made)
    response = auditor_client.get(URL, {**params, "page": 1})
    assert response.status_code == 200
    assert shown_ids(response) == expected[:50]
    summary = " ".join(BeautifulSoup(response.content, "html.parser")
                       .select_one(".table-summary").get_text().split())
    verb = "export matches" if len(expected) == 1 else "exports match"
    assert summary == f"{len(expected)} {verb} the filter."


def test_the_log_is_filtered_by_action_whole_or_by_its_end(auditor_client, user_factory):
    made = generated_records(user_factory("support"), seed=19)
    target = next(r for r in made if r.action_id)
    for given in (target.action_id, target.action_id[-8:]):
        response = auditor_client.get(URL, {"action": given})
        assert response.status_code == 200
        assert shown_ids(response) == [target.rows]
        assert "1 export matches the filter." in response.content.decode()


def test_the_filter_stays_on_other_pages_of_the_log(auditor_client, user_factory):
    generated_records(user_factory("support"), seed=3, count=160)
    response = auditor_client.get(URL, {"what": "failures.csv"})
    soup = BeautifulSoup(response.content, "html.parser")
    next_page = next(a["href"] for a in soup.select(".pagination a") if "page=2" in a["href"])
    assert "what=failures.csv" in next_page
    assert soup.select_one("#id_what option[selected]")["value"] == "failures.csv"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"action": "a1"}, "Action id", "at least 6 characters"),
        ({"action": "aa_<script>"}, "Action id", "only letters, digits and _"),
        ({"action": "x" * 300}, "Action id", "Ensure this value has at most 100"),
        ({"what": "evil.csv"}, "Export", "There is no export called evil.csv"),
        ({"scope": "sideways"}, "Filtered", "Choose filtered, whole, or neither"),
        ({"filter": "y" * 201}, "Filter contains", "at most 200 characters"),
    ],
)
def test_bad_filter_values_are_named_and_left_out(auditor_client, user_factory, params, field,
                                                  words):
    made = generated_records(user_factory("support"), seed=5, count=20)
    response = auditor_client.get(URL, {**params, "scope": params.get("scope", "whole")})
    assert response.status_code == 400
    soup = BeautifulSoup(response.content, "html.parser")
    problem = " ".join(soup.select_one(".bad-params").get_text().split())
    assert f"{field}: " in problem and words in problem
    # The other, valid fields still filter.
    if "scope" not in params:
        assert shown_ids(response) == sorted((r.rows for r in made if not r.filter_text),
                                             reverse=True)


@pytest.mark.parametrize("value", ["\x00", "%", "_", "' OR 1=1 --", "\u202e", "😀" * 50])
def test_hostile_filter_text_never_fails(auditor_client, user_factory, value):
    generated_records(user_factory("support"), seed=9, count=10)
    response = auditor_client.get(URL, {"filter": value, "action": value})
    assert response.status_code in (200, 400)


@pytest.mark.django_db(transaction=True)
def test_exports_logged_before_the_filter_text_get_it_from_their_filters():
    before = [("accounts", "0004_lockout_entries")]
    after = [("accounts", "0005_export_filter_text")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("accounts", "ExportRecord")
        rng = random.Random(41)
        made = {}
        for n in range(30):
            filters = {} if n % 3 == 0 else {rng.choice(["reason", "object"]): f"Straße {n}",
                                             "q": rng.choice(["a@b.c", "x"])}
            made[old.objects.create(username="u", what="failures.csv", filters=filters).pk] = (
                filters)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        texts = dict(ExportRecord.objects.values_list("pk", "filter_text"))
        assert texts == {pk: ", ".join(f"{'search' if name == 'q' else name} {value}"
                                       for name, value in filters.items())
                         for pk, filters in made.items()}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_an_export_whose_link_is_too_long_to_keep_whole_is_logged_without_one(user_factory):
    """A link cut to the column would open another filter than the one exported: the log
    keeps the filter itself (whole, in `filters`) and no link."""
    reason = "Duplicated voucher code " + "Ää%&=#" * 200
    link = "/actions/aa_0c5543f00797b6113f/failures/?" + urlencode({"reason": reason})
    record_export(export_request(user_factory("support")), what="failures.csv",
                  filters={"reason": reason}, link=link)
    record = ExportRecord.objects.get()
    assert record.link == ""
    assert record.filters == {"reason": reason}
    assert len(record.filter_text) <= 500 and record.filter_text.endswith("…")
    assert record.filter_text.startswith("reason Duplicated voucher code Ää%&=#")
