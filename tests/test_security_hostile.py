"""Hostile strings from the upstream come out inert: in the list, the detail page and the CSV."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.helpers.hostile import (
    HYPERLINK,
    IMG,
    IMPORT_ID,
    JS_LINK,
    ODD_TYPE_ID,
    SAFE_REPORT,
    SCRIPT,
    UPDATE_ID,
    now,
)
from tests.helpers.html import csv_rows
from tests.helpers.upstream import insert_terminal, run_sync


def assert_inert(html: bytes) -> BeautifulSoup:
    """No script but the site's own files, no event handler, no link but http(s)/relative."""
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script"):
        assert script.get("src", "").startswith("/static/"), script
    for element in soup.find_all(True):
        handlers = [name for name in element.attrs if name.lower().startswith("on")]
        assert not handlers, element
    assert not soup.find_all(["img", "svg", "iframe", "object", "embed"])
    for link in soup.find_all(href=True):
        href = link["href"].strip().lower()
        assert href.startswith(("/", "?", "#", "https://")), link
    return soup


def test_the_list_shows_hostile_strings_as_text(superuser_client, hostile):
    response = superuser_client.get("/actions/")
    assert response.status_code == 200
    soup = assert_inert(response.content)
    assert ODD_TYPE_ID in response.content.decode()
    assert SCRIPT in soup.get_text()


@pytest.mark.parametrize("action_id", [IMPORT_ID, UPDATE_ID, ODD_TYPE_ID])
def test_the_detail_page_shows_hostile_strings_as_text(superuser_client, hostile, action_id):
    response = superuser_client.get(f"/actions/{action_id}/")
    assert response.status_code == 200
    text = assert_inert(response.content).get_text()
    assert SCRIPT in text or IMG in text


def test_only_https_report_links_become_links(superuser_client, hostile):
    soup = assert_inert(superuser_client.get(f"/actions/{UPDATE_ID}/").content)
    assert [a["href"] for a in soup.select("main a[href^=https]")] == [SAFE_REPORT]
    text = soup.get_text()
    assert JS_LINK in text and "http://evil.example/r.csv" in text


def test_the_failed_rows_fragment_is_inert(superuser_client, hostile):
    response = superuser_client.get(f"/actions/{IMPORT_ID}/failures/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert HYPERLINK in assert_inert(response.content).get_text()


def csv_cells(response) -> list[str]:
    return [cell for row in csv_rows(response)[1:] for cell in row]


@pytest.mark.parametrize("action_id", [IMPORT_ID, UPDATE_ID])
def test_csv_cells_cannot_run_as_formulas(superuser_client, hostile, action_id):
    response = superuser_client.get(f"/actions/{action_id}/failures.csv")
    assert response.status_code == 200
    cells = csv_cells(response)
    assert cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)
    assert f"'{HYPERLINK}" in cells


def test_the_csv_file_name_carries_no_hostile_characters(superuser_client, emulator):
    emulator.insert_action({"id": ODD_TYPE_ID, "type": 'X"; filename=evil.exe\r\nSet-Cookie: a',
                            "status": "DONE", "created_at": now(),
                            "result": {"failed": [{"row": 1, "reason": "r"}], "failed_count": 1}})
    response = superuser_client.get(f"/actions/{ODD_TYPE_ID}/failures.csv")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.count('"') == 2 and "\n" not in disposition and ";" not in disposition[22:]


PURGE_ID = "aa_0c00000000000bad04"


def test_the_purge_audit_and_its_csv_are_inert(superuser_client, archive):
    insert_terminal(archive, PURGE_ID, type_="CUSTOMERS.METADATA_KEY_PURGE",
                    request_id="w-0c00000000000bad04", user={"email": HYPERLINK},
                    log_id=SCRIPT, result={"message": IMG})
    run_sync()  # the audit reads the archive, which the sync fills from the upstream
    page = superuser_client.get("/audit/purges/")
    assert page.status_code == 200
    row = assert_inert(page.content).select_one(f'tr[data-id="{PURGE_ID}"]')
    assert HYPERLINK in row.get_text()
    cells = csv_cells(superuser_client.get("/audit/purges.csv"))
    assert f"'{HYPERLINK}" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
