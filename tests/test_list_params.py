"""The list's query string: validation, canonical form, the trail behind "Newer"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from dashboard.actions.list_params import (
    MAX_TRAIL,
    NEWEST,
    ListState,
    parse_list_params,
)
from dashboard.voucherify.cursor import Cursor
from tests.helpers.html import soup, text

TIE = Cursor(datetime(2026, 10, 1, 12, 0, tzinfo=UTC), frozenset({"aa_01", "aa_02"}))


def parse(query: str) -> ListState:
    return parse_list_params(QueryDict(query))


def test_defaults_have_an_empty_query():
    state = parse("")
    assert state == ListState()
    assert state.query() == ""
    assert not state.filtered


def test_values_are_normalised_into_one_canonical_query():
    state = parse("status=in_progress&context=metadata key purge&type=vouchers.import&limit=50")
    assert state.query() == (
        "?context=METADATA_KEY_PURGE&type=VOUCHERS.IMPORT&status=IN_PROGRESS&limit=50"
    )
    assert state.filtered


def test_a_cursor_survives_the_round_trip():
    state = parse(f"end_date={TIE.to_param()}")
    assert state.cursor == TIE
    assert parse(state.query()[1:]).cursor == TIE


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=7", "limit"),
        ("limit=ten", "limit"),
        ("status=NOPE", "status"),
        ("context=LOYALTY", "context"),
        ("type=vouchers;drop table", "type"),
        ("type=VOUCHERS..IMPORT", "type"),
        ("end_date=junk", "end_date"),
        ("end_date=2026-13-45", "end_date"),
        ("end_date=2026-10-01~aa_1.<script>", "end_date"),
        ("q=hello", "q"),
        ("q=aa_!!", "q"),
        ("sort=password", "sort"),
        ("end_date=2026-10-01&back=junk", "back"),
        ("limit=" + "9" * 7000, "limit"),
        ("context=ORDERS&type=VOUCHERS.IMPORT", "type"),
        ("start_date=9999-12-31T23:59:59-05:00", "start_date"),
        ("start_date=2026-11-20&end_date=2026-10-01", "start_date"),
        ("start_date=2026-11-20&end_date=2026-11-20", "start_date"),
    ],
)
def test_invalid_values_are_named_with_a_sentence(query, param):
    state = parse(query)
    assert [name for name, _ in state.errors] == [param]
    message = state.errors[0][1]
    assert message.endswith(".") and len(message) < 300


def test_a_trail_without_a_position_is_dropped():
    assert parse("back=newest").trail == ()


def test_search_tells_action_ids_from_request_ids():
    assert parse("q=aa_0c5543f00797b6113f").search_kind == "action"
    assert parse("q=v-0c54493e444b0f61a6").search_kind == "request"
    assert parse("q=w-0c54493e444b0f61a6").filtered
    assert parse("q=aa_0c5543f00797b6113f").filtered is False


def test_older_then_newer_returns_to_the_same_state():
    first = ListState(context="VOUCHERS", limit=10)
    second = first.older(TIE)
    third = second.older(Cursor(datetime(2026, 9, 1, tzinfo=UTC)))
    assert second.trail == (NEWEST,)
    assert third.trail == (NEWEST, TIE.to_param())
    assert third.newer() == second
    assert second.newer() == first
    assert first.newer() is None


def test_refiltering_drops_the_position():
    state = ListState(status="DONE").older(TIE)
    assert state.refiltered(context="ORDERS").query() == "?context=ORDERS&status=DONE"


def test_a_trail_of_long_cursors_stays_short_enough_for_a_url():
    twins = frozenset(f"aa_{n:018x}" for n in range(150))
    state = ListState()
    for day in range(1, 6):
        state = state.older(Cursor(datetime(2026, 9, day, tzinfo=UTC), twins))
    assert len(state.query()) < 12_000
    assert parse(state.query()[1:]) == state
    assert state.newer().cursor.before.day == 4


def test_a_deep_walk_keeps_a_bounded_trail():
    state = ListState()
    for day in range(1, 29):
        for hour in range(2):
            state = state.older(Cursor(datetime(2026, 9, day, 23 - hour, tzinfo=UTC)))
    assert len(state.trail) == MAX_TRAIL
    assert parse(state.query()[1:]) == state


# --- through the view: a 400 page with the sentence, and nothing sent upstream ------------

@pytest.mark.parametrize(
    "query",
    [
        "limit=7",
        "status=NOPE",
        "context=...",
        "end_date=junk",
        "type=VOUCHERS.IMPORT%3Cscript%3E",
        "q=aa_zz!",
        "q=something",
        "sort=secret",
        "end_date=2026-10-01&back=%00",
        "limit=7&status=NOPE&context=NOPE",
        "context=ORDERS&type=VOUCHERS.IMPORT",  # each fine, together nothing could match
        "start_date=2026-11-20&end_date=2026-10-01",  # a range that ends before it starts
    ],
)
def test_bad_query_strings_get_a_message_and_no_upstream_call(operator_client, emulator, query):
    response = operator_client.get("/actions/?" + query)
    assert response.status_code == 400
    notice = text(response, ".bad-params")
    assert "cannot be used" in notice
    assert emulator.count() == 0
    fix = soup(response).select_one(".bad-params a")["href"]
    assert operator_client.get(fix, follow=True).status_code == 200


def test_the_400_page_keeps_the_valid_values_in_the_form(operator_client, emulator):
    response = operator_client.get("/actions/?context=ORDERS&limit=7")
    page = soup(response)
    assert page.select_one("#filter-context option[selected]")["value"] == "ORDERS"
    assert page.select_one(".bad-params a")["href"] == "/actions/?context=ORDERS"


def test_a_far_off_start_date_is_written_in_full(operator_client, emulator):
    """A year before 1000 keeps its zeros (strftime's %Y drops them on Linux)."""
    response = operator_client.get("/actions/?status=FAILED&start_date=0001-01-02", follow=True)
    assert response.status_code == 200
    assert "from 0001-01-02 00:00:00 UTC" in text(response, ".day-filter")
