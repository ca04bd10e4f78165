"""The list's scan notice when the archive answered the older part of a filtered page."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from dashboard.history.models import ArchivedAction, SyncState
from dashboard.voucherify.dates import format_timestamp
from tests.helpers.upstream import insert_terminal, live_action, run_sync


def notice_of(client, query: str) -> str:
    response = client.get(f"/actions/?{query}", follow=True)
    assert response.status_code == 200
    notice = BeautifulSoup(response.content, "html.parser").select_one(".scan-notice")
    return " ".join(notice.get_text(" ").split())


def covered_cursor() -> str:
    return SyncState.load().covered_to.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.mark.parametrize("query, said", [
    ("context=CUSTOMERS&status=FAILED&end_date={cursor}", "with no call to Voucherify"),
    ("context=CUSTOMERS&status=FAILED", "older than the newest 100 read from Voucherify"),
])
def test_a_page_from_the_archive_does_not_claim_an_upstream_scan(
    synced, archive, client_for, query, said
):
    text = notice_of(client_for("admin"), query.format(cursor=covered_cursor()))
    assert "Served from the archive" in text and said in text
    plain = notice_of(client_for("operator"), query.format(cursor=covered_cursor()))
    assert "Served from the archive" in plain and said not in plain  # how: for admins only
    # Complete, and says so (issue 17, item 5): the whole history is archived.
    assert "Voucherify" not in plain and re.search(r"Complete: all \d+ matching actions", plain)
    assert re.search(r"Complete: all \d+ matching actions", text)
    assert "scanned" not in text  # no "8 matches among 0 actions scanned"


def test_no_archived_match_says_so_without_a_scan(synced, archive, operator_client):
    text = notice_of(operator_client,
                     f"type=VOUCHERS.NO_SUCH_TYPE&status=DONE&end_date={covered_cursor()}")
    assert "no actions match these filters before" in text
    assert "scanned 0 actions" not in text
    assert archive.count() == 0


def test_an_in_progress_filter_lists_a_running_action_a_catch_up_read_in_its_gap(
        synced, archive, operator_client):
    for n in range(150):  # more than a page, one running among the older of them
        insert_terminal(archive, f"aa_{n:018x}", minutes_old=0.001 * (150 - n))
    running = live_action(archive, minutes_old=0.12, action_id="aa_0000000000000live2")
    run_sync(max_calls=1)  # the newest page: a gap below it
    run_sync(max_calls=5)  # the gap, holding the running action
    newest = max(ArchivedAction.objects.values_list("created_at", flat=True))
    response = operator_client.get(
        f"/actions/?status=IN_PROGRESS&end_date={format_timestamp(newest)}", follow=True)
    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    # Upstream, the action runs below that cursor: "none match" would be a false answer.
    assert page.select_one(f'a[href="/actions/{running}/"]') is not None
