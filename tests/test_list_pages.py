"""Walking the list with Newest / Newer / Older: every action once, across created_at ties."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers.html import href, row_ids, soup, store_items, text, walk


@pytest.fixture
def roomy_budget(settings):
    """Walks make many upstream calls; the per-minute budget is not what these tests are about."""
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000


@pytest.mark.parametrize("limit", [10, 25])
def test_walking_older_lists_every_action_exactly_once(
    operator_client, emulator, emulator_server, roomy_budget, limit
):
    expected = [item["id"] for item in store_items(emulator_server)]
    pages = walk(operator_client, f"/actions/?limit={limit}")
    assert len(pages) == -(-len(expected) // limit)
    for number, ids in enumerate(pages):
        # Each page holds exactly the next `limit` actions, ties at the page edges included.
        assert sorted(ids) == sorted(expected[number * limit:(number + 1) * limit])
    flat = [action_id for ids in pages for action_id in ids]
    assert len(flat) == len(set(flat)) == len(expected)


def test_newer_returns_exactly_the_previous_page(operator_client, emulator, roomy_budget):
    first = operator_client.get("/actions/?limit=10")
    second = operator_client.get(href(first, ".pager-top .pager-older"))
    third = operator_client.get(href(second, ".pager-top .pager-older"))
    fourth = operator_client.get(href(third, ".pager-top .pager-older"))
    assert len({*row_ids(first), *row_ids(second), *row_ids(third), *row_ids(fourth)}) == 40

    back_to_third = operator_client.get(href(fourth, ".pager-top .pager-newer"))
    assert row_ids(back_to_third) == row_ids(third)
    back_to_second = operator_client.get(href(back_to_third, ".pager-top .pager-newer"))
    assert row_ids(back_to_second) == row_ids(second)
    newer = href(back_to_second, ".pager-top .pager-newer")
    assert newer == "/actions/?limit=10"
    assert row_ids(operator_client.get(newer)) == row_ids(first)
    assert href(fourth, ".pager-top .pager-newest") == "/actions/?limit=10"


def test_newest_page_has_no_newer_link_and_a_link_header(operator_client, emulator):
    response = operator_client.get("/actions/")
    page = soup(response)
    assert page.select_one(".pager-top a.pager-newer") is None
    assert page.select_one(".pager-top a.pager-newest") is None
    older = href(response, ".pager-top .pager-older")
    assert response["Link"] == f'<http://testserver{older}>; rel="next"'


def test_last_page_has_no_older_link_and_no_link_header(operator_client, emulator, roomy_budget):
    url = "/actions/?limit=100"
    while True:
        response = operator_client.get(url)
        older = href(response, ".pager-top .pager-older")
        if older is None:
            break
        url = older
    assert "Link" not in response
    assert row_ids(response)


def test_jump_to_a_date_shows_the_actions_created_before_it(
    operator_client, emulator, emulator_server
):
    items = store_items(emulator_server)
    day = items[60]["created_at"][:10]
    response = operator_client.get(f"/actions/?end_date={day}", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/actions/?end_date={day}T00:00:00.000Z", 302)]
    older_than_day = [item["id"] for item in items if item["created_at"][:10] < day]
    assert sorted(row_ids(response)) == sorted(older_than_day[:25])
    # A jumped-to page knows no previous page: Newest, but no Newer.
    assert href(response, ".pager-top .pager-newest") == "/actions/"
    assert href(response, ".pager-top .pager-newer") is None
    assert "Created before" in text(response, ".pager-position")


def test_jump_form_keeps_the_filters_and_drops_the_position(operator_client, emulator):
    response = operator_client.get("/actions/?context=VOUCHERS&limit=10")
    older = operator_client.get(href(response, ".pager-top .pager-older"))
    form = soup(older).select_one("form.jump")
    hidden = {field["name"]: field["value"] for field in form.select("input[type=hidden]")}
    assert hidden == {"context": "VOUCHERS", "limit": "10"}
    assert form.select_one("input[type=date]")["name"] == "end_date"


def test_changing_a_filter_drops_the_cursor(operator_client, emulator):
    first = operator_client.get("/actions/?limit=10")
    second = operator_client.get(href(first, ".pager-top .pager-older"))
    tab = soup(second).select_one('.context-tabs a[href*="context=CAMPAIGN"]')
    assert parse_qs(urlsplit(tab["href"]).query) == {"context": ["CAMPAIGN"], "limit": ["10"]}
    form = soup(second).select_one("form.filters")
    assert not form.select("input[name=end_date], input[name=back]")


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("?limit=25&context=&type=&status=&q=", "/actions/"),
        ("?status=done&context=vouchers", "/actions/?context=VOUCHERS&status=DONE"),
        ("?sort=-created_at&limit=10&utm_source=mail", "/actions/?limit=10&sort=-created_at"),
    ],
)
def test_one_state_has_one_url(operator_client, emulator, query, canonical):
    response = operator_client.get("/actions/" + query)
    assert response.status_code == 302
    assert response["Location"] == canonical
    assert emulator.count() == 0


def test_sorting_reorders_the_page_and_keeps_the_position(operator_client, emulator):
    first = operator_client.get("/actions/?limit=100")
    second_url = href(first, ".pager-top .pager-older")
    second = operator_client.get(second_url)
    header = soup(second).select_one('th a[href*="sort=processing_time"]')
    sorted_page = operator_client.get(header["href"])
    assert sorted_page.status_code == 200
    assert sorted(row_ids(sorted_page)) == sorted(row_ids(second))
    th = soup(sorted_page).select_one("th[aria-sort]")
    assert th["aria-sort"] == "ascending"
    assert "end_date=" in header["href"]


def test_finished_rows_show_a_processing_time_estimated_from_their_timestamps(
    emulator, operator_client
):
    # List items carry no processing_time; the span from created to updated stands in for it.
    newest = emulator.api("/v1/async-actions?limit=1").json()["async_actions"][0]
    response = operator_client.get("/actions/")
    row = soup(response).select_one(f"#row-{newest['id']}")
    estimate = row.select_one("span[title='From the created and updated times']")
    assert estimate is not None and estimate.get_text().startswith("≈ ")


def test_a_start_date_shared_by_a_page_edges_twins_still_pages_older(
    operator_client, emulator, roomy_budget
):
    # Twelve actions created at the very start_date: the first page ends among them, so the
    # next one starts at that same instant (with the ten already shown) and holds the rest.
    stamp = "2099-01-01T00:00:00.000Z"
    twins = [f"aa_edge{index:04d}" for index in range(12)]
    for action_id in twins:
        emulator.insert_action({
            "id": action_id, "type": "VOUCHERS.IMPORT", "status": "DONE", "created_at": stamp,
            "updated_at": stamp, "progress": 100, "object": "async_action",
        })
    pages = walk(operator_client, "/actions/?start_date=2099-01-01&limit=10")
    assert [len(ids) for ids in pages] == [10, 2]
    assert sorted(id_ for ids in pages for id_ in ids) == twins
