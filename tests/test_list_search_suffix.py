"""Search by the tail of an id, as the list shows it: from the archive and the pages read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from tests.helpers.html import row_ids, soup, store_items


@pytest.mark.django_db
def test_a_short_id_as_the_list_shows_it_opens_the_action(operator_client, emulator,
                                                          emulator_server):
    page = operator_client.get("/actions/")
    first = row_ids(page)[0]
    shown = soup(page).select_one(f"#row-{first} code").get_text()
    assert shown.startswith("…")
    emulator.clear_stats()
    response = operator_client.get("/actions/", {"q": shown}, follow=True)
    assert response.redirect_chain[-1][0] == f"/actions/{first}/"
    assert emulator.count(endpoint="/v1/async-actions") == 0  # no scan: what was read already

    live = emulator.create_action("ORDERS.IMPORT", duration=60)  # not archived: running
    cache.clear()  # the next list reads the newest page again, with it on top
    operator_client.get("/actions/")
    found = operator_client.get("/actions/", {"q": live["id"][-6:].upper()}, follow=True)
    assert found.redirect_chain[-1][0] == f"/actions/{live['id']}/"

    older = store_items(emulator_server)[-1]["id"]  # never shown, never archived
    missing = operator_client.get("/actions/", {"q": older[-8:]})
    assert missing.status_code == 200
    notice = soup(missing).select_one(".suffix-search").get_text(" ", strip=True)
    assert "No action the dashboard has read so far ends with" in notice
    assert soup(missing).select_one("#filter-q")["value"] == older[-8:].lower()  # kept


@pytest.mark.django_db
def test_a_tail_shared_by_several_ids_lists_them(operator_client, emulator):
    for n in (1, 2):
        created = datetime.now(UTC) - timedelta(minutes=n)
        emulator.insert_action({
            "id": f"aa_{n}0000000000abcdef", "type": "ORDERS.IMPORT", "status": "DONE",
            "created_at": created.isoformat().replace("+00:00", "Z"), "object": "async_action",
        })
    cache.clear()
    operator_client.get("/actions/")
    response = operator_client.get("/actions/", {"q": "abcdef"})
    links = [a.get_text() for a in soup(response).select(".suffix-matches a")]
    assert sorted(links) == ["aa_10000000000abcdef", "aa_20000000000abcdef"]


@pytest.mark.parametrize("q", ["abc", "…12345", "has space!", "something"])
def test_too_short_or_odd_searches_are_explained(operator_client, emulator, q):
    response = operator_client.get("/actions/", {"q": q})
    assert response.status_code == 400
    assert "last 6 characters" in soup(response).select_one(".bad-params").get_text()


def test_every_id_has_a_copy_button(operator_client, emulator):
    page = soup(operator_client.get("/actions/"))
    rows = page.select("tbody tr[id^=row-]")
    for row in rows:
        button = row.select_one("button.copy[data-copy]")
        assert button["data-copy"] == row["id"].removeprefix("row-")
