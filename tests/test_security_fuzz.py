"""Fuzzed query strings and ids: never a 5xx, and an invalid id never reaches the upstream."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dashboard.actions.list_params import PARAM_ORDER, parse_list_params
from dashboard.voucherify.cursor import is_valid_action_id

FUZZ = hypothesis_settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TRICKS = ["../", "..%2F", "%2e%2e/", "?", "#", "%3F", "/v1/oauth/token", "\x00", "\r\n", "%",
          "aa_", "aa_0c5543f00797b6113f", "aa_0c5543f00797b6113f/../..", "é", "𝕏", " "]
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(TRICKS),
    st.lists(st.sampled_from(TRICKS), max_size=4).map("".join),
    st.from_regex(r"aa_[0-9a-f]{1,30}", fullmatch=True),
)
values = st.one_of(
    texts,
    st.sampled_from(["DONE", "FAILED", "VOUCHERS", "VOUCHERS.IMPORT", "10", "25", "100", "0",
                     "-1", "2024-05-01", "2024-05-01T10:00:00Z", "created_at", "-status",
                     "newest", "v-0c54493e444b0f61a6"]),
)
queries = st.lists(
    st.tuples(st.one_of(st.sampled_from([*PARAM_ORDER, "page", "ids"]), texts), values),
    max_size=6,
)


@pytest.fixture
def fuzz_client(superuser_client, emulator, settings):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000  # the budget is not what is under test
    return superuser_client


@pytest.mark.django_db
@FUZZ
@given(pairs=queries)
def test_list_query_strings_never_fail_and_bad_ones_stay_local(fuzz_client, emulator, pairs):
    query = urlencode(pairs)
    before = emulator.stats()["total"]
    response = fuzz_client.get(f"/actions/?{query}")
    assert response.status_code < 500, query
    if parse_list_params(QueryDict(query)).errors:
        assert response.status_code == 400, query
        assert emulator.stats()["total"] == before, query


@pytest.mark.django_db
@FUZZ
@given(action_id=texts, suffix=st.sampled_from(["/", "/failures/", "/failures.csv"]))
def test_action_ids_never_fail_and_invalid_ones_stay_local(fuzz_client, emulator, action_id,
                                                           suffix):
    url = f"/actions/{quote(action_id, safe='')}{suffix}"
    before = emulator.stats()["total"]
    response = fuzz_client.get(url, HTTP_HX_REQUEST="true" if suffix == "/failures/" else "")
    assert response.status_code < 500, url
    if not is_valid_action_id(action_id):
        assert emulator.stats()["total"] == before, url
        assert response.status_code in {200, 286, 302, 400, 404}, url


@pytest.mark.django_db
@FUZZ
@given(ids=st.lists(texts, max_size=5))
def test_live_poll_ids_are_checked_before_any_request(fuzz_client, emulator, ids):
    before = emulator.stats()["total"]
    response = fuzz_client.get("/actions/live/", {"ids": ",".join(ids)})
    assert response.status_code < 500
    if not all(is_valid_action_id(part) for part in ids if part) or not any(ids):
        assert response.status_code == 400
        assert emulator.stats()["total"] == before


@pytest.mark.django_db
@FUZZ
@given(
    path=st.sampled_from(["/audit/purges/", "/audit/purges.csv", "/audit/exports/",
                          "/overview/", "/status/"]),
    pairs=st.lists(st.tuples(st.one_of(st.sampled_from(
        ["page", "sort", "object_type", "from", "to", "since", "type"]), texts), values),
        max_size=4),
)
def test_other_pages_query_strings_never_fail(fuzz_client, path, pairs):
    query = urlencode(pairs)
    assert fuzz_client.get(f"{path}?{query}").status_code < 500, f"{path}?{query}"
