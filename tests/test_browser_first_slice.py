"""The first slice end to end: a person logs in and sees the newest actions of the upstream."""

import pytest

from tests.fixtures.users import ROLE_PASSWORD

pytestmark = pytest.mark.browser


def test_a_person_logs_in_and_sees_the_newest_actions(emulator, live_server, page, user_factory,
                                                      transactional_db):
    newest = emulator.api("/v1/async-actions?limit=5").json()["async_actions"]
    user = user_factory("operator", username="first-slice")

    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url  # nothing is shown before logging in
    page.fill("#id_username", user.username)
    page.fill("#id_password", ROLE_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/actions/**")

    links = page.locator("a[href^='/actions/aa_']")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert {f"/actions/{action['id']}/" for action in newest} <= hrefs


def test_a_wrong_password_keeps_the_person_on_the_login_page(live_server, page, user_factory,
                                                             transactional_db):
    user = user_factory("operator", username="wrong-password")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
    assert page.locator("[role=alert]").count() == 1
