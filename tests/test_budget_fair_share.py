"""Fair shares of the budget: one person, or one purpose, cannot spend everyone's minute.

Driven over real HTTP to the emulator through the Django client, with two people logged in.
"""

from __future__ import annotations

import secrets

import pytest
from bs4 import BeautifulSoup
from django.test import Client

from dashboard.polling import askers, problems, reads
from dashboard.voucherify.errors import BudgetExhaustedError, ShareExhaustedError
from tests.helpers.upstream import DETAIL, LIST, fresh_layer, live_action, upstream_calls

CAP = 40
SHARE = 0.25  # 10 calls a minute for one person
HAMMERED = 60


@pytest.fixture
def budget(emulator, settings):
    settings.VOUCHERIFY_USER_SHARE = SHARE
    settings.VOUCHERIFY_POLL_SHARE = 0.75
    settings.VOUCHERIFY_SYNC_SHARE = 0.6
    return fresh_layer(emulator, settings, calls_per_minute=CAP, reserve=4)


def logged_in(user_factory, username: str) -> Client:
    client = Client()
    client.force_login(user_factory("support", username))
    return client


def unknown_ids(count: int) -> list[str]:
    """Well-formed ids nobody has (the emulator's ids are 18 hex digits after aa_)."""
    return [f"aa_{secrets.token_hex(9)}" for _ in range(count)]


def problem_of(response) -> BeautifulSoup | None:
    return BeautifulSoup(response.content, "html.parser").select_one(".upstream-problem")


def test_one_person_hammering_unknown_ids_leaves_another_persons_pages_readable(
    budget, user_factory
):
    hammer = logged_in(user_factory, "hammer")
    reader = logged_in(user_factory, "reader")
    action = budget.create_action("CUSTOMERS.IMPORT_CSV", outcome="FAILED", duration=0)
    budget.clear_stats()

    statuses = [hammer.get(f"/actions/{action_id}/").status_code
                for action_id in unknown_ids(HAMMERED)]

    # Their share, then more only while another share is left for everyone else.
    hammered = CAP - int(CAP * SHARE)
    assert statuses.count(404) == hammered
    assert statuses.count(503) == HAMMERED - hammered
    assert upstream_calls(budget, DETAIL) == hammered

    listed = reader.get("/actions/")
    detail = reader.get(f"/actions/{action['id']}/")
    assert (listed.status_code, detail.status_code) == (200, 200)
    assert problem_of(listed) is None and problem_of(detail) is None
    assert upstream_calls(budget, LIST) + upstream_calls(budget, DETAIL) > hammered


def test_after_one_person_took_the_spare_calls_the_next_still_gets_their_whole_share(
    budget, user_factory
):
    first = logged_in(user_factory, "first")
    second = logged_in(user_factory, "second")
    for action_id in unknown_ids(HAMMERED):
        first.get(f"/actions/{action_id}/")
    statuses = [second.get(f"/actions/{action_id}/").status_code
                for action_id in unknown_ids(int(CAP * SHARE) + 1)]
    assert statuses == [404] * int(CAP * SHARE) + [503]
    assert upstream_calls(budget, DETAIL) == CAP


def test_the_refused_person_gets_503_retry_after_and_a_sentence_about_their_share(
    budget, user_factory
):
    hammer = logged_in(user_factory, "hammer")
    for action_id in unknown_ids(CAP - int(CAP * SHARE)):
        hammer.get(f"/actions/{action_id}/")
    budget.clear_stats()

    refused = hammer.get(f"/actions/{unknown_ids(1)[0]}/")

    assert refused.status_code == 503
    assert 1 <= int(refused["Retry-After"]) <= 61
    problem = problem_of(refused)
    assert problem is not None and problem.get("data-problem") == "own-share"
    wording = problems.wording_of(ShareExhaustedError())
    assert wording.sentence in problem.get_text(" ", strip=True)
    assert upstream_calls(budget) == 0  # refused before anything was sent


def test_an_unknown_id_asked_again_costs_no_call(budget, user_factory):
    reader = logged_in(user_factory, "reader")
    action_id = unknown_ids(1)[0]
    statuses = [reader.get(f"/actions/{action_id}/").status_code for _ in range(20)]
    assert statuses == [404] * 20
    assert upstream_calls(budget, DETAIL) == 1


def test_a_remembered_unknown_id_is_read_once_the_list_shows_it(budget, user_factory):
    reader = logged_in(user_factory, "reader")
    action_id = unknown_ids(1)[0]
    assert reader.get(f"/actions/{action_id}/").status_code == 404
    live_action(budget, status="DONE", action_id=action_id, result={"message": "Done."})
    assert action_id in reader.get("/actions/").content.decode()
    detail = reader.get(f"/actions/{action_id}/")
    assert detail.status_code == 200 and "Done." in detail.content.decode()
    assert upstream_calls(budget, DETAIL) == 2


def test_one_persons_polls_share_the_refusal_only_with_that_person(budget, user_factory):
    """A refused share is the person's, not the resource's: the other person's poll of the
    same list is not handed the first one's refusal."""
    hammer = logged_in(user_factory, "hammer")
    reader = logged_in(user_factory, "reader")
    for action_id in unknown_ids(CAP - int(CAP * SHARE)):
        hammer.get(f"/actions/{action_id}/")
    assert problem_of(hammer.get("/actions/")).get("data-problem") == "own-share"
    listed = reader.get("/actions/")
    assert listed.status_code == 200 and problem_of(listed) is None


def terminal_ids(emulator, count: int) -> list[str]:
    page = emulator.api("/v1/async-actions?limit=100").json()["async_actions"]
    return [a["id"] for a in page if a["status"] in ("DONE", "FAILED")][:count]


@pytest.mark.parametrize(("purpose", "share", "wording"), [
    (askers.SYNC, 0.6, "background work"),
    (askers.POLL, 0.75, "live updates"),
])
def test_a_purpose_spends_at_most_its_share_and_page_loads_still_read(
    budget, db, purpose, share, wording
):
    ids = terminal_ids(budget, CAP)
    allowed = int(CAP * share)
    served, refusals = 0, []
    with askers.asking(purpose=purpose):
        for action_id in ids[: allowed + 5]:
            try:
                reads.fetch_action(action_id)
                served += 1
            except BudgetExhaustedError as refused:
                refusals.append(refused)
    assert served == allowed
    assert len(refusals) == 5 and wording in str(refusals[0])
    assert not any(isinstance(refused, ShareExhaustedError) for refused in refusals)
    with askers.asking(purpose=askers.PAGE):
        assert reads.fetch_action(ids[-1]).value.id == ids[-1]
    assert upstream_calls(budget, DETAIL) == allowed + 1
