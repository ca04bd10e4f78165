"""Sorting is true across what it claims; the grouped view (default) and one timeline."""

from __future__ import annotations

import pytest

from dashboard.voucherify.models import Action
from tests.helpers.html import row_ids, soup, store_items


def durations(emulator_server) -> dict[str, int]:
    return {
        item["id"]: Action.from_json(item).duration_ms for item in store_items(emulator_server)
    }


@pytest.mark.parametrize("sort", ["processing_time", "-processing_time"])
def test_the_timeline_sorts_the_whole_page_by_processing_time(
    operator_client, emulator, emulator_server, sort
):
    response = operator_client.get(f"/actions/?limit=50&view=timeline&sort={sort}")
    assert response.status_code == 200
    assert len(soup(response).select("table.actions-table")) == 1  # one table, no groups
    ids = row_ids(response)
    assert len(ids) == 50
    known = durations(emulator_server)
    shown = [-1 if known[i] is None else known[i] for i in ids]
    assert shown == sorted(shown, reverse=sort.startswith("-"))
    assert len(set(shown)) > 10  # the order is not an accident of equal values


def test_the_grouped_view_says_it_sorts_each_group(operator_client, emulator, emulator_server):
    response = operator_client.get("/actions/?limit=50&sort=-processing_time")
    page = soup(response)
    assert len(page.select("table.actions-table")) > 1
    titles = {a["title"] for a in page.select("thead th a")}
    assert "Sort each group by processing time" in titles
    known = durations(emulator_server)
    for table in page.select("table.actions-table"):
        ids = [tr["id"].removeprefix("row-") for tr in table.select("tbody tr")]
        shown = [-1 if known[i] is None else known[i] for i in ids]
        assert shown == sorted(shown, reverse=True)
    switch = {a.get_text(): a["href"] for a in page.select(".view-switch a")}
    assert switch["Timeline"] == "/actions/?limit=50&view=timeline&sort=-processing_time"
    assert page.select_one(".view-switch a[aria-current=page]").get_text() == "Grouped by context"


def test_the_timeline_keeps_the_upstream_order_and_polls_without_counts(
    operator_client, emulator, emulator_server, settings
):
    settings.ACTIONS_DETAILS_PER_POLL = 0
    created = emulator.create_action("ORDERS.IMPORT", duration=60)
    timeline = operator_client.get("/actions/?view=timeline")
    newest = [item["id"] for item in store_items(emulator_server)[:25]]
    assert row_ids(timeline) == newest and newest[0] == created["id"]  # newest on top
    assert row_ids(operator_client.get("/actions/"))[0] != created["id"]  # grouped: Orders
    poll = soup(timeline).select_one("#live-poller")["hx-get"]
    assert "settled=" not in poll  # no group counts to swap in
    assert operator_client.get("/actions/?view=sideways").status_code == 400
