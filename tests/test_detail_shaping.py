"""The plain-Python shaping of a panel: estimates, shares, raw JSON, sentences."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.actions.detail_page import (
    RAW_LIST_LIMIT,
    outcome_sentence,
    raw_json,
    success_share,
    time_left,
)
from dashboard.history.failures import FailureQuery, failures_of, page_of, parse_query
from dashboard.voucherify.models import Action

NOW = datetime(2024, 5, 1, 10, 0, 40, tzinfo=UTC)


def make(status: str = "IN_PROGRESS", progress: int | None = 25, **fields) -> Action:
    body = {"id": "aa_0d00000000000000d1", "type": "VOUCHERS.IMPORT", "status": status,
            "created_at": "2024-05-01T10:00:00Z", "progress": progress, **fields}
    return Action.from_json(body)


@pytest.mark.parametrize(
    ("status", "progress", "eta"),
    [
        ("IN_PROGRESS", 25, 120.0),  # 40 s for a quarter: 120 s for the rest
        ("IN_PROGRESS", 80, 10.0),
        ("IN_PROGRESS", 0, None),  # nothing to extrapolate from yet
        ("IN_PROGRESS", None, None),
        ("ENQUEUED", 0, None),
        ("DONE", 100, None),
    ],
)
def test_time_left_extrapolates_the_pace_so_far(status, progress, eta):
    elapsed, left = time_left(make(status, progress), NOW)
    assert elapsed == 40.0
    assert left == eta


def test_created_in_the_future_counts_as_just_started():
    assert time_left(make(), NOW - timedelta(minutes=5)) == (0.0, None)


@pytest.mark.parametrize(
    ("done", "failed", "share"),
    [(3, 1, 75.0), (0, 3, 0.0), (2, 0, 100.0), (0, 0, None), (None, 2, None), (2, None, None),
     (1, 2, 33.3)],
)
def test_success_share(done, failed, share):
    assert success_share(done, failed) == share


def test_raw_json_cuts_long_lists_and_hides_failures_from_operators():
    failed = [{"code": f"C{n}", "reason": "r"} for n in range(100)]
    body = {"id": "aa_1", "result": {"failed": failed, "errors": [{"message": "m"}],
                                     "reports": ["https://x"]}}
    shown = json.loads(raw_json(body, hide_failures=False))
    assert len(shown["result"]["failed"]) == RAW_LIST_LIMIT + 1
    assert shown["result"]["failed"][-1].startswith("… 80 more")
    hidden = json.loads(raw_json(body, hide_failures=True))
    assert hidden["result"]["failed"] == "[100 hidden: failed rows need the support role]"
    assert hidden["result"]["errors"] == "[1 hidden: failed rows need the support role]"
    # Issue 13: opening reports needs the support role, so their links are hidden here too.
    assert hidden["result"]["reports"] == "[1 hidden: reports need the support role]"
    assert shown["result"]["reports"] == ["https://x"]
    listed = json.loads(raw_json({"result": [{"code": "A"}]}, hide_failures=True))
    assert "hidden" in listed["result"]


def test_operation_status_failed_on_a_done_action_is_said():
    action = make("DONE", 100, operation_status="FAILED", result={"done_count": 0})
    sentence = outcome_sentence(action, "Voucher bulk update", failures_of(action), None, 0)
    assert sentence == "Voucherify reports the operation of this voucher bulk update as FAILED."


def test_parse_query_is_lenient_and_never_cuts_a_filter():
    long_reason = parse_query({"rows_page": "x", "q": "  a  ", "reason": "r" * 900})
    assert long_reason == FailureQuery(page=1, reason="r" * 900, search="a")
    assert long_reason.can_match
    assert parse_query({}) == FailureQuery()


@pytest.mark.parametrize("params", [{"reason": "r" * 20_001}, {"q": "a" * 20_001},
                                    {"q": "code\x1frow"}])
def test_a_filter_no_row_can_match_whole_matches_nothing(params):
    action = make("DONE", 100, result={"failed": [{"code": "code", "row": 1, "reason": "r"}]})
    query = parse_query(params)
    assert not query.can_match
    assert failures_of(action).count_matching(query) == 0


def test_page_past_the_end_shows_the_last_page():
    action = make("DONE", 100, result={"failed": [{"code": str(n)} for n in range(120)]})
    page = page_of(failures_of(action), FailureQuery(page=99))
    assert (page.page, page.pages, page.first, page.last) == (3, 3, 101, 120)
    assert page.groups == [("(no reason given)", 120)]
