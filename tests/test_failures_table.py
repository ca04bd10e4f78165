"""A 3,000-row failure list stays usable: grouped, paginated and filtered on the server."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from dashboard.history.failures import PAGE_SIZE
from tests.helpers.archive_down import stored_failures_unreadable
from tests.helpers.html import csv_rows, soup, text_of

UNIT = "unit: must be a number"
TYPE = "Voucher Type is required"
DUPLICATE = "Duplicated voucher code"


def big_result() -> dict:
    reasons = [UNIT] * 2000 + [TYPE] * 700 + [DUPLICATE] * 300
    failed = [{"code": f"CODE-{n:04d}", "row": n + 1, "reason": reason}
              for n, reason in enumerate(reasons)]
    return {"message": "0 voucher(s) imported successfully, 3000 failed.", "done_count": 0,
            "failed_count": 3000, "failed": failed}


@pytest.fixture
def big_action(emulator) -> str:
    return emulator.create_action("VOUCHERS.IMPORT_CSV", duration=0, result=big_result())["id"]


def panel(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser").find(id="action-panel")


def test_only_one_page_of_rows_is_in_the_html(big_action, support_client):
    response = support_client.get(f"/actions/{big_action}/")
    html = panel(response)
    rows = html.select("table.failure-table tbody tr")
    assert len(rows) == PAGE_SIZE
    assert text_of(rows[0].td) == "CODE-0000"
    assert "CODE-0100" not in response.content.decode()  # not in the table, nor the raw JSON
    assert text_of(html.select_one(".table-summary")) == "Showing 1–50 of 3000."
    assert text_of(html.select_one(".pager")) == "‹ Previous Page 1 of 60 Next ›"
    next_link = html.select_one(".pager a[rel=next]")
    assert next_link["href"] == f"/actions/{big_action}/?rows_page=2#failures"
    assert len(response.content) < 200_000


def test_groups_count_each_reason(big_action, support_client):
    html = panel(support_client.get(f"/actions/{big_action}/"))
    groups = [text_of(li) for li in html.select(".reason-groups li")]
    assert groups == [f"2000 rows failed: {UNIT}", f"700 rows failed: {TYPE}",
                      f"300 rows failed: {DUPLICATE}"]


def test_reason_filter_and_paging(big_action, support_client):
    html = panel(support_client.get(f"/actions/{big_action}/", {"reason": TYPE, "rows_page": "3"}))
    rows = html.select("table.failure-table tbody tr")
    assert len(rows) == PAGE_SIZE
    # Every row is one of the reason's rows; the reason is its heading, not in each row.
    of_reason = {row["code"] for row in big_result()["failed"] if row["reason"] == TYPE}
    assert all(text_of(row.td) in of_reason for row in rows)
    assert text_of(html.select_one("#failures-reason-heading")) == f"700 rows failed: {TYPE}"
    assert all(TYPE not in text_of(row) for row in rows)
    assert text_of(rows[0].td) == "CODE-2100"
    summary = text_of(html.select_one(".table-summary"))
    assert summary == "Showing 101–150 of 700 matching (of 3000)."
    assert html.select_one("#failures-reason option[selected]")["value"] == TYPE


def test_search_finds_one_code(big_action, support_client):
    html = panel(support_client.get(f"/actions/{big_action}/", {"q": "code-2999"}))
    rows = html.select("table.failure-table tbody tr")
    assert [text_of(td) for td in rows[0].select("td")] == ["CODE-2999", "3000", DUPLICATE]
    assert len(rows) == 1 and html.select_one(".pager") is None


@pytest.mark.parametrize("page", ["0", "-3", "abc", "999999", ""])
def test_bad_page_numbers_fall_back(big_action, support_client, page):
    html = panel(support_client.get(f"/actions/{big_action}/", {"rows_page": page}))
    assert len(html.select("table.failure-table tbody tr")) == PAGE_SIZE


def test_no_match_says_so(big_action, support_client):
    html = panel(support_client.get(f"/actions/{big_action}/", {"q": "nothing like this"}))
    assert text_of(html.select_one(".table-summary")) == "No rows match the filter."
    assert html.select_one("table.failure-table") is None


def test_htmx_fragment_returns_the_table_and_pushes_the_page_url(big_action, support_client):
    response = support_client.get(f"/actions/{big_action}/failures/", {"reason": DUPLICATE},
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = BeautifulSoup(response.content, "html.parser")
    assert fragment.find(id="action-panel") is None
    assert fragment.find(id="failures") is not None
    assert len(fragment.select("table.failure-table tbody tr")) == PAGE_SIZE
    reason_query = "reason=Duplicated+voucher+code"
    assert response["HX-Push-Url"] == f"/actions/{big_action}/?{reason_query}"


def test_fragment_without_htmx_redirects_to_the_page(big_action, support_client):
    response = support_client.get(f"/actions/{big_action}/failures/", {"rows_page": "2"})
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{big_action}/?rows_page=2"


def test_operator_sees_counts_and_message_but_no_rows(big_action, operator_client, emulator):
    response = operator_client.get(f"/actions/{big_action}/")
    html = panel(response)
    assert text_of(html.select_one(".count-failed")) == "3000"
    assert "3000 failed" in text_of(html.select_one(".result-message"))
    assert html.select_one("#failures") is None and html.select_one(".reason-groups") is None
    assert "needs the support role" in text_of(html.select_one(".failures-restricted"))
    assert "CODE-0000" not in response.content.decode()  # not even in the raw JSON
    assert "3000 hidden" in html.select_one("details.raw-json").get_text()
    assert operator_client.get(f"/actions/{big_action}/failures/", HTTP_HX_REQUEST="true"
                               ).status_code == 403
    assert operator_client.get(f"/actions/{big_action}/failures.csv").status_code == 403


@pytest.mark.parametrize("role", ["support", "auditor", "admin"])
def test_support_roles_see_the_rows(big_action, client_for, role):
    html = panel(client_for(role).get(f"/actions/{big_action}/"))
    assert len(html.select("table.failure-table tbody tr")) == PAGE_SIZE
    assert html.select_one("a.csv-link") is not None


def test_no_role_gets_403(big_action, client_for):
    assert client_for(None).get(f"/actions/{big_action}/").status_code == 403


def test_fragment_explains_an_upstream_failure_in_place(emulator, support_client):
    emulator.set_faults(error_rate=1.0, error_status=502)
    response = support_client.get("/actions/aa_0d00000000000fff77/failures/",
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    section = BeautifulSoup(response.content, "html.parser").find(id="failures")
    assert section.select_one(".upstream-problem") is not None
    assert section.select_one("table") is None


# Results small enough to be kept whole with the action, and big enough to be stored apart.
KEPT_WHOLE_OR_APART = pytest.mark.parametrize("count", [12, 30], ids=["kept-whole",
                                                                      "stored-apart"])
SMALL_ID = "aa_0e0000000000000fa1"


def small_action(emulator, failed: list[dict]) -> str:
    emulator.insert_action({"id": SMALL_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
                            "created_at": "2024-05-01T10:00:00Z", "progress": 100,
                            "result": {"done_count": 5, "failed_count": len(failed),
                                       "failed": failed}})
    return SMALL_ID


def fragment(client, action_id: str, params: dict) -> BeautifulSoup:
    return soup(client.get(f"/actions/{action_id}/failures/", params, HTTP_HX_REQUEST="true"))


@KEPT_WHOLE_OR_APART
def test_a_reason_longer_than_a_short_limit_filters_to_its_rows(emulator, support_client,
                                                                 count):
    long_reason = "Customer metadata too long: " + "x" * 600
    failed = [{"code": f"C-{n:03d}", "row": n + 1,
               "reason": long_reason if n % 2 else DUPLICATE} for n in range(count)]
    action_id = small_action(emulator, failed)
    page = soup(support_client.get(f"/actions/{action_id}/"))
    offered = [option["value"] for option in page.select("#failures-reason option")]
    assert long_reason in offered  # the select sends it whole
    html = fragment(support_client, action_id, {"reason": long_reason})
    matching = count // 2
    assert text_of(html.select_one(".table-summary")) == \
        f"Showing 1–{matching} of {matching} matching (of {count})."
    these = html.select_one("a.csv-these")["href"]
    body = csv_rows(support_client.get(these))[1:]
    assert [row[-1] for row in body] == [long_reason] * matching


@KEPT_WHOLE_OR_APART
def test_a_long_search_is_never_cut_to_a_part_that_matches(emulator, support_client, count):
    failed = [{"code": f"C-{n:03d}", "row": n + 1, "reason": "x" * 600} for n in range(count)]
    action_id = small_action(emulator, failed)
    support_client.get(f"/actions/{action_id}/")
    html = fragment(support_client, action_id, {"q": "x" * 599 + "y"})
    assert text_of(html.select_one(".table-summary")) == "No rows match the filter."
    html = fragment(support_client, action_id, {"q": "x" * 600})
    assert text_of(html.select_one(".table-summary")) == \
        f"Showing 1–{count} of {count} matching (of {count})."


@KEPT_WHOLE_OR_APART
def test_a_search_holding_the_cell_separator_never_spans_two_cells(emulator, support_client,
                                                                  count):
    failed = [{"code": f"C-{n:03d}", "row": n + 1, "reason": DUPLICATE} for n in range(count)]
    action_id = small_action(emulator, failed)
    support_client.get(f"/actions/{action_id}/")  # archived: split when stored apart
    html = fragment(support_client, action_id, {"q": "c-005\x1f6"})  # code C-005, row 6
    assert text_of(html.select_one(".table-summary")) == "No rows match the filter."
    assert csv_rows(support_client.get(f"/actions/{action_id}/failures.csv",
                                       {"q": "c-005\x1f6"}))[1:] == []


def test_stored_rows_unreadable_are_said_so_never_the_kept_rows_shown_as_all(emulator,
                                                                               support_client):
    failed = [{"code": f"C-{n:03d}", "row": n + 1, "reason": UNIT} for n in range(30)]
    action_id = small_action(emulator, failed)
    support_client.get(f"/actions/{action_id}/")  # archived, its rows stored apart
    with stored_failures_unreadable():
        html = fragment(support_client, action_id, {})
        page = soup(support_client.get(f"/actions/{action_id}/"))
    for section in (html.find(id="failures"), page.find(id="failures")):
        assert text_of(section.select_one("#failures-title")) == "Failed rows (30)"
        assert text_of(section.select_one(".rows-unavailable")) == (
            "The 30 failed rows cannot be read: the archive that holds them did not answer. "
            "Try again in a moment.")
        assert section.select_one("table.failure-table") is None
        assert section.select_one("a.csv-link") is None
    assert text_of(page.select_one(".count-failed")) == "30"


def test_rows_unreadable_after_their_summary_are_said_so_not_a_server_error(emulator,
                                                                           support_client):
    """The summary read, then the database fails on the page of rows (a statement timeout on
    a search over 100,000 rows, a lost connection): the section says so, as above."""
    failed = [{"code": f"C-{n:03d}", "row": n + 1, "reason": UNIT} for n in range(30)]
    action_id = small_action(emulator, failed)
    support_client.get(f"/actions/{action_id}/")  # archived, its rows stored apart
    with stored_failures_unreadable(("history_faileditem",)):
        html = fragment(support_client, action_id, {"q": "c-01"})
        response = support_client.get(f"/actions/{action_id}/")
    assert response.status_code == 200
    for section in (html.find(id="failures"), soup(response).find(id="failures")):
        assert text_of(section.select_one(".rows-unavailable")) == (
            "The 30 failed rows cannot be read: the archive that holds them did not answer. "
            "Try again in a moment.")
        assert section.select_one("table.failure-table") is None
