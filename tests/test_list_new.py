""""N new actions" above an open list: counted on the shared newest page, no call of its own."""

from __future__ import annotations

from django.core.cache import cache

from tests.helpers.html import soup

LIST = "/v1/async-actions"


def banner(response):
    return soup(response).select_one("#new-actions")


def test_new_actions_are_counted_from_the_shared_newest_page(operator_client, emulator, settings):
    settings.ACTIONS_POLL_INTERVAL = 10  # the shared page stays fresh through the test
    settings.ACTIONS_DETAILS_PER_POLL = 0  # nothing else to poll: the banner polls itself
    page = operator_client.get("/actions/?context=CUSTOMERS")
    assert not soup(page).select_one("#live-poller").has_attr("hx-get")
    check = banner(page)["hx-get"]
    assert "after=aa_" in check and "context=CUSTOMERS" in check
    assert banner(operator_client.get(check)).get_text(strip=True) == ""  # nothing new yet

    emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    emulator.create_action("CUSTOMERS.IMPORT_CSV", duration=60)
    emulator.create_action("ORDERS.IMPORT", duration=60)  # not in this list's context
    cache.clear()  # the shared newest page must be read again
    emulator.clear_stats()
    answers = [operator_client.get(check) for _ in range(3)]
    assert emulator.count(endpoint=LIST) == 1  # one read of the shared page for every check
    assert emulator.count() == 1
    for answer in answers:
        show = banner(answer).select_one("a[data-auto-show]")
        assert show.get_text(strip=True) == "2 new actions · show"
        assert show["href"] == "/actions/?context=CUSTOMERS"
        assert banner(answer)["hx-get"] == check  # the check goes on from the same place


def test_while_rows_run_the_live_poll_answers_the_banner_too(
    operator_client, emulator, settings
):
    settings.ACTIONS_POLL_INTERVAL = 10
    settings.ACTIONS_DETAILS_PER_POLL = 0
    emulator.create_action("VOUCHERS.IMPORT", duration=60)
    page = operator_client.get("/actions/")
    assert not banner(page).has_attr("hx-get")  # one poll for the page: the live one
    poll = soup(page).select_one("#live-poller")["hx-get"]
    assert "after=aa_" in poll
    emulator.create_action("ORDERS.IMPORT", duration=60)
    cache.clear()
    emulator.clear_stats()
    answer = operator_client.get(poll)
    assert emulator.count(endpoint=LIST) == 1  # rows and banner from one read
    assert emulator.count() == 1
    swapped = soup(answer).select_one("#new-actions[hx-swap-oob]")
    assert swapped.get_text(strip=True) == "1 new action · show"
    assert not swapped.has_attr("hx-get")
    assert soup(answer).select_one("#live-poller")["hx-get"] == poll


def test_older_pages_and_bad_checks(operator_client, emulator):
    page = operator_client.get("/actions/")
    older = soup(page).select_one(".pager-top a.pager-older")["href"]
    assert banner(operator_client.get(older)) is None  # only above the newest page
    assert operator_client.get("/actions/new/?after=nope").status_code == 400
    bad_status = "/actions/new/?after=aa_0c5543f00797b6113f&status=x"
    assert operator_client.get(bad_status).status_code == 400
