"""Upstream values that once answered 500: odd ids, `user` shapes, dates at the ends of time,
and megabyte-long texts. Each goes through the emulator into the pages that show it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup

from dashboard.history.models import ArchivedAction, FailedItem
from tests.helpers.upstream import insert_terminal, run_sync

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}
SLASH_ID = "aa_slash/x"
EARLY = "0001-01-01T00:00:00+01:00"  # in year 0 once in UTC
LATE = "9999-12-31T23:59:59-01:00"  # in year 10000 once in UTC
MEGABYTE_WORD = "W" * (1 << 20)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running(action_id: str, **extra) -> dict:
    return {"id": action_id, "type": "VOUCHERS.IMPORT_CSV", "status": "IN_PROGRESS",
            "progress": 40, "created_at": now(), "updated_at": now(),
            "request_id": "v-0c00000000000bad77", **extra}


@pytest.mark.django_db
def test_an_id_with_a_slash_is_listed_without_a_link(archive, superuser_client):
    archive.insert_action(running(SLASH_ID))
    response = superuser_client.get("/actions/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    row = soup.find(id=f"row-{SLASH_ID}")
    assert row is not None and row.find("code", class_="invalid-id")
    assert not row.find("a", href=lambda href: href and "slash" in href)
    # The row is not polled: no poll could name it.
    assert "slash" not in (soup.find(id="live-poller") or {}).get("hx-get", "")
    overview = superuser_client.get("/overview/")
    assert overview.status_code == 200
    assert b"aa_slash" not in overview.content  # shown by its label, without a link


@pytest.mark.django_db
def test_an_archived_purge_with_a_slash_id_keeps_the_audit_working(archive, client_for):
    insert_terminal(archive, "aa_purge/1", type_="CUSTOMERS.METADATA_KEY_PURGE",
                    result={"message": "Updated 3 customers.", "done_count": 3})
    run_sync()
    auditor = client_for("auditor")
    page = auditor.get("/audit/purges/")
    assert page.status_code == 200
    row = BeautifulSoup(page.content, "html.parser").find("tr", attrs={"data-id": "aa_purge/1"})
    assert row is not None and row.find("a") is None
    assert auditor.get("/audit/purges.csv").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("user", [{"items": "x"}, {"items": 5}, {"keys": [1, 2]}, ["a", "b"], 7])
def test_user_of_any_shape_is_shown_as_text(emulator, superuser_client, user):
    body = insert_terminal(emulator, "aa_0c000000000000a5e1", user=user)
    path = f"/actions/{body['id']}/"
    for response in (superuser_client.get(path), superuser_client.get(path, **HTMX)):
        assert response.status_code in (200, 286)
        cell = BeautifulSoup(response.content, "html.parser").find(class_="action-user")
        assert cell is not None
    if isinstance(user, dict) and not isinstance(next(iter(user.values())), list):
        assert cell.get_text(" ", strip=True) == f"{next(iter(user))}: {next(iter(user.values()))}"
    else:
        assert cell.get_text(strip=True).replace(" ", "") == str(user).replace("'", '"').replace(
            " ", "")


@pytest.mark.django_db
@pytest.mark.parametrize("moment", [EARLY, LATE])
@pytest.mark.parametrize("field", ["created_at", "updated_at", "reports_available_till"])
def test_dates_at_the_ends_of_time_are_shown(archive, superuser_client, moment, field):
    action_id = "aa_0c000000000000da7e"
    result = {"done_count": 1, "reports": ["https://download.voucherify.io/r.csv"],
              "reports_available_till": now()}
    body = insert_terminal(archive, action_id, type_="CUSTOMERS.BULK_UPDATE", result=result)
    if field == "reports_available_till":
        body["result"]["reports_available_till"] = moment
    else:
        body[field] = moment
    archive.insert_action(body)
    for path in ("/actions/", f"/actions/{action_id}/", "/overview/"):
        response = superuser_client.get(path)
        assert response.status_code == 200, path
    assert superuser_client.get(f"/actions/{action_id}/", **HTMX).status_code in (200, 286)
    year = "0001" if moment == EARLY else "9999"
    detail = superuser_client.get(f"/actions/{action_id}/").content.decode()
    assert f"{year}-" in detail or f"{int(year)}-" in detail
    run_sync()  # the archive takes it too
    assert superuser_client.get("/overview/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["end_date", "back"])
@pytest.mark.parametrize("moment", [EARLY, LATE])
def test_typed_dates_at_the_ends_of_time_get_a_sentence(emulator, superuser_client, param,
                                                        moment):
    query = {"end_date": moment} if param == "end_date" else {
        "end_date": "2026-01-01T00:00:00.000Z", "back": moment}
    emulator.clear_stats()
    response = superuser_client.get("/actions/", query)
    assert response.status_code == 400
    sentence = ("outside the dates the dashboard can handle" if param == "end_date"
                else "The trail of newer pages (back) is damaged")
    assert sentence in response.content.decode()
    assert emulator.stats()["total"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/audit/purges/", "/audit/purges.csv"])
@pytest.mark.parametrize("query", [{"to": "9999-12-31"},
                                   {"from": "2026-01-01", "to": "9999-12-31"}])
def test_purge_filters_at_the_ends_of_time_get_a_sentence(auditor_client, path, query):
    response = auditor_client.get(path, query)
    assert response.status_code == 400
    assert "outside the dates the dashboard can handle" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["message", "reason", "user"])
def test_a_megabyte_word_is_cut_with_the_whole_behind_show_all(emulator, superuser_client,
                                                               where):
    result = {"done_count": 1, "failed_count": 1,
              "failed": [{"code": "bad", "row": 1, "reason": "short"}]}
    extra = {}
    if where == "message":
        result["message"] = MEGABYTE_WORD
    elif where == "reason":
        result["failed"][0]["reason"] = MEGABYTE_WORD
    else:
        extra["user"] = {"id": "user_1", "email": MEGABYTE_WORD}
    body = insert_terminal(emulator, "aa_0c00000000000b1900", result=result, **extra)
    for response in (superuser_client.get(f"/actions/{body['id']}/"),
                     superuser_client.get(f"/actions/{body['id']}/", **HTMX)):
        assert response.status_code in (200, 286)
        soup = BeautifulSoup(response.content, "html.parser")
        wholes = soup.select("details.full-text .full-text-body")
        assert any(whole.get_text() == MEGABYTE_WORD for whole in wholes)
        for details in soup.find_all("details", class_="full-text"):
            details.decompose()
        # What the page lays out (closed <details> aside) stays small: the raw JSON is cut too.
        assert len(soup.get_text()) < 50_000


@pytest.mark.django_db
@pytest.mark.parametrize("huge", ["1E100", 2**63, -(10**30)])
@pytest.mark.parametrize("field", ["failed_count", "done_count", "processing_time", "row"])
def test_a_number_past_64_bits_is_shown_as_unknown_and_archived(archive, superuser_client,
                                                                huge, field):
    """No database column holds it (SQLite raised OverflowError while archiving, a 500): the
    model reads it as unknown, as it reads any other value that is not a number."""
    action_id = "aa_0c000000000000b164"
    failed = [{"code": f"C{n}", "row": n + 1, "reason": "Duplicated code"} for n in range(25)]
    result = {"done_count": 1, "failed_count": 25, "failed": failed}
    extra = {"processing_time": huge} if field == "processing_time" else {}
    if field == "row":
        failed[3]["row"] = huge
    elif field != "processing_time":
        result[field] = huge
    insert_terminal(archive, action_id, result=result, **extra)
    response = superuser_client.get(f"/actions/{action_id}/")
    assert response.status_code == 200
    assert str(huge) not in response.content.decode().split('class="raw-json"')[0]
    archived = ArchivedAction.objects.get(pk=action_id)
    assert archived.has_detail
    assert archived.processing_time == (None if field == "processing_time" else 3000)
    rows = BeautifulSoup(response.content, "html.parser").select("table.failure-table tbody tr")
    assert len(rows) == 25
    assert [cell.get_text(strip=True) for cell in rows[3].find_all("td")][:2] == \
        ["C3", "" if field == "row" else "4"]


@pytest.mark.django_db
@pytest.mark.parametrize(("constant", "text"), [(float("nan"), "NaN"), (float("inf"), "Infinity"),
                                                (float("-inf"), "-Infinity")])
def test_nan_and_infinity_are_kept_as_text_and_archived(archive, superuser_client, constant,
                                                        text):
    """Not JSON, but Python's parser reads them as floats that no database's JSON column
    takes: the action was never archived (SQLite: "malformed JSON"), and an undocumented
    cell in a big result's rows made its store fail."""
    action_id = "aa_0c000000000000b165"
    failed = [{"code": f"C{n}", "row": n + 1, "reason": "Duplicated code", "extra": constant}
              for n in range(25)]
    insert_terminal(archive, action_id, result={"failed": failed, "failed_count": constant},
                    processing_time=constant)
    response = superuser_client.get(f"/actions/{action_id}/")
    assert response.status_code == 200
    archived = ArchivedAction.objects.get(pk=action_id)
    assert archived.has_detail
    assert archived.processing_time is None
    assert FailedItem.objects.filter(action_id=action_id).count() == 25
    rows = BeautifulSoup(response.content, "html.parser").select("table.failure-table tbody tr")
    assert [cell.get_text(strip=True) for cell in rows[0].find_all("td")] == \
        ["C0", "1", "Duplicated code", text]
