"""Parsing Voucherify's async actions: typed, and tolerant of whatever upstream adds or omits."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from dashboard.voucherify import (
    Action,
    ActionResult,
    Cursor,
    FailedRow,
    InvalidResponseError,
    RateLimitState,
    is_valid_action_id,
)
from dashboard.voucherify.errors import (
    DEFAULT_RETRY_AFTER,
    LONGEST_WAIT_SECONDS,
    retry_after_seconds,
)

BASE = {
    "id": "aa_0c5543f00797b6113f",
    "type": "VOUCHERS.IMPORT_CSV",
    "status": "DONE",
    "created_at": "2022-09-05T11:40:17.098Z",
    "updated_at": "2022-09-05T11:40:17.887Z",
    "request_id": "v-0ba518c52bc99858f0",
    "progress": 100,
    "processing_time": 789,
    "object": "async_action",
}


def action(**changes):
    return Action.from_json({**BASE, **changes})


def test_a_documented_action_parses_into_aware_utc_datetimes():
    parsed = action(result={
        "message": "0 voucher(s) imported successfully, 2 failed.",
        "failed": [{"code": "FALL2023", "row": 1, "reason": "Voucher Type is required"}],
        "done_count": 0,
        "failed_count": 2,
    })
    assert parsed.created_at == datetime(2022, 9, 5, 11, 40, 17, 98000, tzinfo=UTC)
    assert parsed.updated_at.tzinfo is not None
    assert (parsed.progress, parsed.processing_time) == (100, 789)
    assert parsed.is_terminal and not parsed.is_live
    assert parsed.context == "VOUCHERS"
    assert parsed.prefix == "VOUCHERS"
    assert parsed.result.failed_count == 2
    assert parsed.result.failed[0].code == "FALL2023"
    assert parsed.result.failed[0].row == 1
    assert parsed.result.has_failures
    assert parsed.raw["object"] == "async_action"


def test_bulk_update_results_keep_reports_and_their_expiry():
    parsed = action(type="CUSTOMERS.BULK_UPDATE", result={
        "done_count": 3, "failed_count": 1, "reports": ["https://r.example/1.csv"],
        "reports_available_till": "2024-11-06T08:26:13.304Z",
        "errors": [{"message": "Not found", "details": "no customer", "key": "not_found",
                    "source_id": "cust_1"}],
    })
    result = parsed.result
    assert result.reports == ["https://r.example/1.csv"]
    assert result.reports_available_till == datetime(2024, 11, 6, 8, 26, 13, 304000, tzinfo=UTC)
    assert result.reports_expired(now=datetime(2025, 1, 1, tzinfo=UTC))
    assert result.errors[0].key == "not_found"
    assert result.errors[0].source_id == "cust_1"


@pytest.mark.parametrize("status", ["ENQUEUED", "IN_PROGRESS", "in_progress"])
def test_live_statuses(status):
    parsed = action(status=status)
    assert parsed.is_live and not parsed.is_terminal


def test_an_unknown_type_still_parses_and_gets_a_context_and_label():
    parsed = action(type="LOYALTIES.MEMBERS_BATCH_ENROLMENT")
    assert parsed.type == "LOYALTIES.MEMBERS_BATCH_ENROLMENT"
    assert parsed.context == "OTHER"
    assert parsed.label


def test_unknown_fields_user_and_log_id_never_break_parsing():
    parsed = action(
        user={"id": "user_1", "email": "ops@example.com"}, log_id="log_123",
        brand_new_field={"nested": [1, 2]}, progress="55", processing_time=None,
    )
    assert parsed.user["email"] == "ops@example.com"
    assert parsed.log_id == "log_123"
    assert parsed.progress == 55
    assert parsed.raw["brand_new_field"] == {"nested": [1, 2]}


@pytest.mark.parametrize(
    ("result", "expected_message"),
    [
        (None, None),
        ({}, None),
        ("Import failed: file unreadable", "Import failed: file unreadable"),
        (["first problem", "second problem"], "first problem; second problem"),
        ({"message": "Partial"}, "Partial"),
        ({"failed": "not a list", "done_count": "many", "reports": None}, None),
        (42, "42"),
    ],
)
def test_missing_partial_or_odd_results_parse(result, expected_message):
    parsed = action(status="FAILED", result=result) if result is not None else action()
    if expected_message is None and result in (None, {}):
        assert parsed.result is None
        return
    assert parsed.result.message == expected_message
    assert parsed.result.raw == result


def test_a_partial_result_dict_keeps_what_it_has():
    result = ActionResult.from_json(
        {"failed": ["row 3 broken", {"row": "7"}], "done_count": "many"}
    )
    assert result.done_count is None
    assert [row.reason for row in result.failed] == ["row 3 broken", None]
    assert result.failed[1].row == 7
    assert result.has_failures


def test_missing_status_and_type_become_readable_placeholders():
    data = {k: v for k, v in BASE.items() if k not in ("status", "type")}
    parsed = Action.from_json(data)
    assert parsed.status == "UNKNOWN"
    assert parsed.type == ""
    assert parsed.context == "OTHER"


@pytest.mark.parametrize(
    "data",
    [None, [], "aa_1", {"type": "X"}, {"id": ""}, {**BASE, "created_at": "yesterday"}],
)
def test_something_that_is_not_an_action_is_an_invalid_response(data):
    with pytest.raises(InvalidResponseError):
        Action.from_json(data)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("aa_0c5543f00797b6113f", True),
        ("aa_ABC123", True),
        ("aa_", False),
        ("", False),
        ("../x", False),
        ("aa_1?x", False),
        ("aa_%2e%2e", False),
        ("aa_1/2", False),
        ("aa_1\n", False),
        ("AA_1", False),
        ("aa_" + "a" * 62, False),
        ("aa_" + "a" * 61, True),
        (None, False),
    ],
)
def test_action_ids_are_aa_then_letters_and_digits(value, valid):
    assert is_valid_action_id(value) is valid


def test_cursor_round_trips_with_the_ids_seen_at_its_instant():
    cursor = Cursor(
        before=datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC), seen=frozenset({"aa_y", "aa_x"})
    )
    assert cursor.to_param() == "2026-11-01T10:00:00.123Z~aa_x.aa_y"
    assert Cursor.from_param(cursor.to_param()) == cursor


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T10:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01 10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        (" 2026-11-01T10:00:00.5Z ", datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_cursor_accepts_dates_people_type(typed, expected):
    cursor = Cursor.from_param(typed)
    assert cursor.before == expected
    assert cursor.seen == frozenset()


@pytest.mark.parametrize(
    "junk", ["", "yesterday", "2026-13-01", "2026-11-01~../etc", "2026-11-01~aa_1?x", "~aa_1"]
)
def test_cursor_junk_is_a_readable_value_error(junk):
    with pytest.raises(ValueError) as caught:
        Cursor.from_param(junk)
    assert str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_plain_cursor_asks_strictly_before_and_a_tie_cursor_one_millisecond_later():
    moment = datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert Cursor(before=moment).end_date == moment
    tie = Cursor(before=moment, seen=frozenset({"aa_1"}))
    assert tie.end_date == datetime(2026, 11, 1, 10, 0, 0, 124000, tzinfo=UTC)


def test_rate_limit_state_reads_the_headers():
    state = RateLimitState.from_headers({
        "X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "7",
        "X-Rate-Limit-Retry": "1767225600", "X-Rate-Limit-Type": "api_requests_per_minute",
    })
    assert (state.limit, state.remaining, state.type) == (100, 7, "api_requests_per_minute")
    assert state.retry_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert RateLimitState.from_headers({"Content-Type": "application/json"}) is None


def test_failed_rows_parse_when_read_and_behave_as_a_list():
    rows = [{"code": f"C{n}", "row": str(n), "reason": "Duplicated"} for n in range(3)]
    result = action(result={"failed": [*rows, "plain text"], "errors": [{"message": "m"}]}).result
    failed = result.failed
    assert len(failed) == 4
    assert failed[1].code == "C1" and failed[1].row == 1
    assert [row.code for row in failed[:2]] == ["C0", "C1"]
    assert failed[-1].reason == "plain text" and failed[-1].code is None
    assert list(failed) == [FailedRow.from_json(item) for item in [*rows, "plain text"]]
    assert failed == [FailedRow.from_json(item) for item in [*rows, "plain text"]]
    assert failed != failed[:2]
    assert result.errors[0].message == "m"
    # Kept in the shared cache as pickles: a round trip reads the same rows.
    assert pickle.loads(pickle.dumps(result)) == result
    assert not ActionResult.from_json({"message": "m"}).failed


@pytest.mark.parametrize("value", ["1e11", "99999999999999", "1e400", "inf", "-inf", "nan"])
def test_a_rate_limit_retry_past_the_longest_window_is_read_as_an_hour_at_most(value):
    """X-Rate-Limit-Retry of a year far ahead, or no finite number: never a moment the budget
    would hold every call back until for years."""
    state = RateLimitState.from_headers({"X-Rate-Limit-Retry": value})
    if state.retry_at is not None:
        assert state.retry_at <= state.observed_at + timedelta(seconds=LONGEST_WAIT_SECONDS)


@pytest.mark.parametrize("headers, wait", [
    ({"Retry-After": "1e11"}, LONGEST_WAIT_SECONDS),
    ({"Retry-After": "1e400"}, DEFAULT_RETRY_AFTER),  # no finite number: the default
    ({"Retry-After": "nan", "X-Rate-Limit-Retry": "1000"}, 1000.0),  # small: seconds from now
    ({"Retry-After": "Infinity"}, DEFAULT_RETRY_AFTER),
    ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, DEFAULT_RETRY_AFTER),
    ({"Retry-After": "0"}, 0.0),
    ({"Retry-After": "-5"}, 0.0),
    ({"Retry-After": "42"}, 42.0),
])
def test_a_429_waits_what_it_says_within_the_longest_window(headers, wait):
    assert retry_after_seconds(headers, now=2000.0) == wait


def rate_limit_retries(now: float) -> list[str]:
    """X-Rate-Limit-Retry values of every kind: epoch seconds around `now`, small numbers,
    the edge between them, far ahead, negative, and what is no number."""
    random = Random(14)
    values = [now + random.uniform(-7200, 7200) for _ in range(200)]
    values += [random.uniform(0, 10_000) for _ in range(100)]
    values += [999_999_999, 1_000_000_000, 0, -1, -now, 1e11, 1e300]
    texts = [repr(value) for value in values] + [str(int(value)) for value in values]
    return texts + ["", "soon", "nan", "inf", "-inf", "1e400", "0x10", " 42 "]


def test_a_429_and_the_rate_limit_state_read_x_rate_limit_retry_alike():
    # Without Retry-After a 429 waits until X-Rate-Limit-Retry; the budget holds every call
    # back until the state's retry_at: one moment, whatever the header says.
    for value in rate_limit_retries(datetime.now(UTC).timestamp()):
        state = RateLimitState.from_headers({"X-Rate-Limit-Retry": value})
        now = state.observed_at.timestamp()
        wait = retry_after_seconds({"X-Rate-Limit-Retry": value}, now=now)
        if state.retry_at is None:
            assert wait == DEFAULT_RETRY_AFTER, value
        else:
            assert wait == pytest.approx(max(0.0, state.retry_at.timestamp() - now)), value
            assert state.retry_at.timestamp() <= now + LONGEST_WAIT_SECONDS
