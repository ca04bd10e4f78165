"""The list and detail endpoints: order, limits, the end_date cursor, ties, 404s."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboard.emulator.seed import TIE_GROUPS
from dashboard.emulator.timeutil import format_ms, parse_end_date

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def page(emulator, **query) -> dict:
    path = "/v1/async-actions"
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    response = emulator.api(path)
    assert response.status == 200, response.body
    return response.json()


def every_action(emulator) -> list[dict]:
    """The whole history, newest first, walked with a cursor that keeps tied siblings."""
    items: dict[str, dict] = {}
    body = page(emulator, limit=100)
    while True:
        for item in body["async_actions"]:
            items.setdefault(item["id"], item)
        if not body["has_more"]:
            return list(items.values())
        last = parse_end_date(body["async_actions"][-1]["created_at"])
        body = page(emulator, limit=100, end_date=format_ms(last + 1))


def order_key(item: dict) -> tuple[str, str]:
    return item["created_at"], item["id"]


def test_list_is_newest_first_with_ties_by_id_descending(emulator):
    items = every_action(emulator)
    assert [order_key(i) for i in items] == sorted((order_key(i) for i in items), reverse=True)


def test_default_limit_is_ten(emulator):
    body = page(emulator)
    assert len(body["async_actions"]) == 10
    assert body["has_more"] is True
    assert body["object"] == "list" and body["data_ref"] == "async_actions"


def test_list_items_never_carry_result_user_or_log_id(emulator):
    for item in every_action(emulator):
        assert not {"result", "user", "log_id"} & set(item)
        assert STAMP.match(item["created_at"]) and STAMP.match(item["updated_at"])
        assert re.match(r"^aa_[0-9a-f]{18}$", item["id"])
        assert re.match(r"^[vw]-[0-9a-f]{18}$", item["request_id"])


@pytest.mark.parametrize(
    ("raw", "details"),
    [
        ("0", "Property .limit must be greater than or equal to 1"),
        ("101", "Property .limit must be less than or equal to 100"),
        ("abc", "Property .limit must be an integer"),
        ("", "Property .limit must be an integer"),
        ("-1", "Property .limit must be an integer"),
    ],
)
def test_limit_out_of_range_is_a_400(emulator, raw, details):
    response = emulator.api(f"/v1/async-actions?limit={raw}")
    assert response.status == 400
    body = response.json()
    assert (body["code"], body["key"], body["message"], body["details"]) == (
        400, "invalid_query_params", "Invalid query params", details
    )
    assert re.match(r"^v-[0-9a-f]{18}$", body["request_id"])


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(emulator, limit):
    assert len(page(emulator, limit=limit)["async_actions"]) == limit


@pytest.mark.parametrize("raw", ["yesterday", "2016-13-01", "2016-11-16T25:00:00Z", "16-11-2016",
                                 "2016-11-16T14:14:31+25:00", "", "1479305671"])
def test_unreadable_end_date_is_the_documented_400(emulator, raw):
    response = emulator.api(f"/v1/async-actions?end_date={raw}")
    assert response.status == 400
    body = response.json()
    assert {key: body[key] for key in ("code", "key", "message", "details")} == {
        "code": 400,
        "key": "invalid_query_params",
        "message": "Invalid query params",
        "details": "Property .end_date cannot be recognized as a ISO-8601 compliant date",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2016-11-16", datetime(2016, 11, 16, tzinfo=UTC)),
        ("2016-11-16T14:14:31Z", datetime(2016, 11, 16, 14, 14, 31, tzinfo=UTC)),
        ("2016-11-16T14:14:31.5Z", datetime(2016, 11, 16, 14, 14, 31, 500000, tzinfo=UTC)),
        ("2016-11-16T14:14:31.123456Z", datetime(2016, 11, 16, 14, 14, 31, 123000, tzinfo=UTC)),
        ("2016-11-16T16:14:31+02:00", datetime(2016, 11, 16, 14, 14, 31, tzinfo=UTC)),
        ("2016-11-16T12:14:31-0200", datetime(2016, 11, 16, 14, 14, 31, tzinfo=UTC)),
        ("2016-11-16T14:14", datetime(2016, 11, 16, 14, 14, tzinfo=UTC)),
    ],
)
def test_end_date_forms(raw, expected):
    assert parse_end_date(raw) == int(expected.timestamp() * 1000)


def test_end_date_keeps_only_actions_strictly_before_it(emulator):
    items = every_action(emulator)
    pivot = items[30]
    body = page(emulator, limit=100, end_date=pivot["created_at"])
    assert all(i["created_at"] < pivot["created_at"] for i in body["async_actions"])
    assert pivot["id"] not in {i["id"] for i in body["async_actions"]}
    just_after = format_ms(parse_end_date(pivot["created_at"]) + 1)
    assert page(emulator, limit=1, end_date=just_after)["async_actions"][0]["created_at"] == (
        pivot["created_at"]
    )


def test_date_only_end_date_means_midnight_utc(emulator):
    items = every_action(emulator)
    day = items[len(items) // 2]["created_at"][:10]
    body = page(emulator, limit=100, end_date=day)
    assert body["async_actions"]
    assert all(i["created_at"] < f"{day}T00:00:00.000Z" for i in body["async_actions"])
    newest_before = next(i for i in items if i["created_at"] < f"{day}T00:00:00.000Z")
    assert body["async_actions"][0]["id"] == newest_before["id"]


def test_end_date_with_offset_compares_the_same_instant(emulator):
    pivot = every_action(emulator)[40]
    stamp = parse_end_date(pivot["created_at"])
    warsaw = timezone(timedelta(hours=2))
    shifted = datetime.fromtimestamp(stamp / 1000, warsaw).isoformat(timespec="milliseconds")
    assert shifted.endswith("+02:00")
    shifted = shifted.replace("+", "%2B")
    utc = page(emulator, limit=5, end_date=pivot["created_at"])
    assert page(emulator, limit=5, end_date=shifted) == utc


@pytest.mark.parametrize("limit", [10, 25, 50, 100])
def test_seed_has_ties_across_page_boundaries(emulator, limit):
    first = page(emulator, limit=limit)["async_actions"]
    items = every_action(emulator)
    assert [i["id"] for i in items[:limit]] == [i["id"] for i in first]
    assert items[limit - 1]["created_at"] == items[limit]["created_at"]


@pytest.mark.parametrize("limit", [10, 25, 50, 100])
def test_a_created_at_cursor_skips_tied_siblings(emulator, limit):
    """Why a client must not page with end_date = the last created_at alone."""
    first = page(emulator, limit=limit)["async_actions"]
    second = page(emulator, limit=limit, end_date=first[-1]["created_at"])["async_actions"]
    seen = {i["id"] for i in first + second}
    skipped = [i for i in every_action(emulator)[: 2 * limit] if i["id"] not in seen]
    assert skipped and all(i["created_at"] == first[-1]["created_at"] for i in skipped)


def test_tie_groups_are_where_the_seed_says(emulator):
    items = every_action(emulator)
    for index, size in TIE_GROUPS:
        stamps = {i["created_at"] for i in items[index:index + size]}
        assert len(stamps) == 1
        assert items[index - 1]["created_at"] != items[index]["created_at"]


def test_has_more_is_false_on_the_last_page(emulator):
    items = every_action(emulator)
    oldest = items[-1]
    body = page(emulator, limit=100, end_date=format_ms(parse_end_date(oldest["created_at"]) + 1))
    assert body["has_more"] is False
    assert body["async_actions"][-1]["id"] == oldest["id"]
    assert page(emulator, end_date="2000-01-01") == {
        "object": "list", "data_ref": "async_actions", "async_actions": [], "has_more": False
    }


def test_detail_carries_result_user_and_log_id(emulator):
    details = [emulator.api(f"/v1/async-actions/{i['id']}").json()
               for i in every_action(emulator)[:60]]
    assert any("result" in d for d in details)
    with_user = [d for d in details if "user" in d]
    assert with_user
    for detail in with_user:
        assert set(detail["user"]) == {"id", "email"}
        assert detail["log_id"].startswith("log_")


@pytest.mark.parametrize("action_id", ["aa_000000000000000000", "nope", "aa_%3Cscript%3E",
                                       "aa_0c5543f00797b6113f%2F..", "%E2%9C%93"])
def test_unknown_or_malformed_id_is_a_404(emulator, action_id):
    response = emulator.api(f"/v1/async-actions/{action_id}")
    assert response.status == 404
    body = response.json()
    assert (body["code"], body["key"], body["message"]) == (404, "not_found", "Resource not found")
    assert body["details"].startswith("Cannot find async_action with id ")
    assert body["resource_type"] == "async_action"


def test_unknown_route_and_wrong_method(emulator):
    assert emulator.api("/v1/campaigns").status == 404
    response = emulator.api("/v1/async-actions", method="POST", form={"a": "b"})
    assert response.status == 405
    assert response.headers["Allow"] == "GET"
