"""Generated actions, from the documented schema and far outside it, never make a page answer
500: the list, its live fragment, the detail page and its poll, the failed rows and their CSV,
the archive (a sync), the overview and the purge audit.

Each example resets the emulator and the archive, inserts its actions through the control
API and reads every page over real HTTP; the example count is bounded for `make test`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dashboard.history.models import ArchivedAction, SyncState
from dashboard.polling import reads as upstream
from dashboard.voucherify import catalog
from dashboard.voucherify.cursor import is_valid_action_id
from tests.helpers.upstream import run_sync

PROPERTY = hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
    ],
)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}
FAILURES_HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "failures"}
SORTS = ["type", "-status", "created_at", "-updated_at", "processing_time", "-processing_time"]
_serial = itertools.count(1)

HOSTILE = ["<script>alert(1)</script>", '"><svg onload=alert(1)>', "javascript:alert(1)",
           '=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx",
           "\rx", "\x00", "../../etc/passwd", "aa_slash/x", "{{ 7*7 }}", "{% now 'Y' %}",
           "%s%s%n", "\u202eevil", "𝕏" * 50, "items", "keys", "values"]
# Long single words (no space to wrap at), made cheaply rather than drawn character by character.
huge_texts = st.builds(lambda n, char: char * n, st.integers(2_000, 300_000),
                       st.sampled_from(["W", "é", "<", "9", "𝕏"]))
texts = st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE), huge_texts)
numbers = st.one_of(
    st.integers(-10, 10_000), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
)
EDGE_DATES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z",
              "9999-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "2026-02-30T00:00:00Z",
              "2026-01-01", "not a date", "", "2026-01-01T25:61:00Z", "+002026-01-01T00:00:00Z"]


def recent(seconds_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


dates = st.one_of(st.integers(0, 600).map(recent), st.sampled_from(EDGE_DATES), texts, numbers)
scalars = st.one_of(st.none(), texts, numbers)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(texts, children, max_size=4)),
    max_leaves=10,
)
types = st.one_of(st.sampled_from(list(catalog.KNOWN_TYPES)), texts,
                  st.sampled_from(["LOYALTY.MEMBERS_BATCH_CREATE", "CUSTOMERS.METADATA_KEY_PURGE",
                                   "VOUCHERS.METADATA_KEY_PURGE", "X", "."]),
                  st.none(), numbers)
statuses = st.one_of(st.sampled_from(["ENQUEUED", "IN_PROGRESS", "DONE", "FAILED"]), texts,
                     st.none(), numbers)
failed_rows = st.one_of(
    st.fixed_dictionaries({"code": scalars, "row": st.one_of(numbers, texts),
                           "reason": scalars, "source_id": scalars},
                          optional={key: anything for key in HOSTILE[:8]}),
    anything,
)
errors = st.one_of(
    st.fixed_dictionaries({"message": scalars}, optional={
        "details": scalars, "key": scalars, "source_id": scalars, "extra": anything}),
    anything,
)
results = st.one_of(
    st.none(), texts, numbers, st.lists(failed_rows, max_size=4),
    st.fixed_dictionaries({}, optional={
        "message": st.one_of(texts, anything), "done_count": st.one_of(numbers, texts),
        "failed_count": st.one_of(numbers, texts), "failed": st.lists(failed_rows, max_size=6),
        "errors": st.lists(errors, max_size=4), "reports": st.one_of(
            st.lists(st.one_of(texts, anything), max_size=3), anything),
        "reports_available_till": dates, "unknown_key": anything,
    }),
    anything,
)
users = st.one_of(
    st.fixed_dictionaries({"id": scalars, "email": scalars}),
    st.dictionaries(st.sampled_from(["items", "keys", "values", "email", "name"]), anything,
                    max_size=3),
    anything,
)


@st.composite
def actions(draw) -> dict:
    """One action: mostly the documented shape, each field sometimes something else."""
    number = next(_serial)
    action_id = draw(st.one_of(
        st.just(f"aa_0c{number:018x}"), st.just(f"aa_0c{number:018x}"),
        st.sampled_from([f"aa_slash/{number}", f"aa_{number} x", f"aa_é{number}",
                         f"aa_{'f' * 80}{number}", f"v-{number}"]),
    ))
    body = {"id": action_id, "object": "async_action", "type": draw(types),
            "status": draw(statuses), "created_at": draw(dates)}
    optional = {"updated_at": dates, "progress": numbers, "processing_time": numbers,
                "request_id": scalars, "operation_status": scalars, "log_id": scalars,
                "user": users, "result": results}
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    for key in draw(st.lists(texts, max_size=2)):
        body.setdefault(key, draw(anything))
    return body


def answered(response) -> bool:
    """Anything but a server error; 502 and 503 are how a page says the upstream failed (an
    action without a readable created_at is not one the dashboard can list)."""
    return response.status_code < 500 or response.status_code in (502, 503)


def consume(response) -> bytes:
    """The body, streamed ones too (a stream that breaks midway raises here)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.django_db
@PROPERTY
@given(batch=st.lists(actions(), min_size=1, max_size=3), sort=st.sampled_from(SORTS))
def test_no_generated_action_makes_a_page_answer_500(archive, superuser_client, batch, sort):
    archive.reset()
    cache.clear()
    upstream._interval_memo = None
    ArchivedAction.objects.all().delete()
    SyncState.objects.all().delete()
    for body in batch:
        archive.insert_action(body)
    valid = [body["id"] for body in batch if is_valid_action_id(body["id"])]
    archived = ["/overview/", "/audit/purges/", "/audit/purges.csv"]  # the archive's pages
    for action_id in valid:
        archived += [f"/actions/{action_id}/", f"/actions/{action_id}/failures.csv"]
    upstream_only = ["/actions/", f"/actions/?sort={sort}"]
    if valid:
        upstream_only.append(f"/actions/live/?ids={','.join(valid)}")

    visit(superuser_client, upstream_only + archived)
    for action_id in valid:
        visit(superuser_client, [f"/actions/{action_id}/"], **HTMX)
        visit(superuser_client, [f"/actions/{action_id}/failures/?q=a"], **FAILURES_HTMX)
    run_sync(max_calls=8)  # the archive takes them; its pages then read them from it
    cache.clear()
    visit(superuser_client, archived)


def visit(client, paths: list[str], **headers: str) -> None:
    for path in paths:
        response = client.get(path, **headers)
        consume(response)
        assert answered(response), (path, response.status_code)
