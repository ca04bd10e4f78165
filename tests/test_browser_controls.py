"""The person's controls, in Chromium: live updates on/off and how often (the server's
interval a floor), relative or exact times, the title and favicon when a watched action
finishes, and saved views; each choice kept per person across reloads."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from dashboard.polling import align
from tests.helpers.axe import violations
from tests.helpers.upstream import finish_action, live_action

pytestmark = pytest.mark.browser


def count_polls(page, path: str) -> list[str]:
    """Every htmx request the page sends for `path`, as it is sent."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if path in request.url and request.headers.get("hx-request") else None)
    return sent


# The server's trigger: every second, and once just after the next refresh (polling/align.py).
SERVERS_PACE = re.compile(r"^every 1s, poll-resume, load delay:\d{5}ms$")


@pytest.fixture
def running_panel(emulator, live_server, page, browser_login, settings):
    """An operator on the detail page of an action that runs for a minute; polls every second."""
    settings.ACTIONS_POLL_INTERVAL = 1
    browser_login("operator")
    created = emulator.create_action("VOUCHERS.IMPORT", duration=60)
    path = f"/actions/{created['id']}/"
    polls = count_polls(page, path)
    page.goto(live_server.url + path)
    expect(page.locator("#live-controls")).to_be_visible()
    return page, path, polls


def test_live_off_sends_no_poll_shows_paused_and_stays_off_after_a_reload(running_panel):
    page, path, polls = running_panel
    page.wait_for_function("document.querySelectorAll('[data-poll]').length > 0")
    page.click("#live-toggle")
    expect(page.locator("#live-toggle")).to_have_text("Live updates: off")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#live-state")).to_contain_text("Paused")
    expect(page.locator("#live-interval")).to_be_disabled()
    page.wait_for_load_state("networkidle")
    polls.clear()
    page.wait_for_timeout(3_000)  # three of the server's intervals
    assert polls == []

    page.reload()
    expect(page.locator("#live-toggle")).to_have_text("Live updates: off")
    expect(page.locator("#live-state")).to_contain_text("Paused")
    page.wait_for_timeout(2_500)
    assert polls == []

    with page.expect_request(lambda request: path in request.url
                             and bool(request.headers.get("hx-request"))):
        page.click("#live-toggle")  # resuming asks at once
    expect(page.locator("#live-state")).to_have_text(re.compile(r"Updating every 1 s"))


def test_a_slower_interval_is_honoured_and_kept(running_panel):
    page, path, polls = running_panel
    panel = page.locator("#action-panel")
    expect(panel).to_have_attribute("hx-trigger", SERVERS_PACE)
    page.select_option("#live-interval", "5")
    # Slower than the server's pace, without its early poll after the next refresh.
    expect(panel).to_have_attribute("hx-trigger", "every 5s, poll-resume")
    expect(page.locator("#live-state")).to_have_text("Updating every 5 s.")
    page.wait_for_load_state("networkidle")
    polls.clear()
    page.wait_for_timeout(3_500)  # three and a half of the server's intervals
    assert len(polls) <= 1

    page.reload()  # kept for this person; the server's new poller is slowed at once
    expect(page.locator("#live-interval")).to_have_value("5")
    expect(page.locator("#action-panel")).to_have_attribute("hx-trigger", "every 5s, poll-resume")


def test_a_live_panel_polls_once_just_after_the_next_refresh(
    emulator, live_server, page, browser_login, settings, monkeypatch
):
    """htmx honours the early poll each answer times (polling/align.py): with the regular
    poll half a minute away and the next refresh due in a second, the panel asks at once
    after that refresh."""
    settings.ACTIONS_POLL_INTERVAL = 30
    monkeypatch.setattr(align, "refresh_due", lambda: time.time() + 1.0)
    browser_login("operator")
    created = emulator.create_action("VOUCHERS.IMPORT", duration=60)
    path = f"/actions/{created['id']}/"
    page.goto(live_server.url + path)
    loaded = time.monotonic()
    page.wait_for_event("request", lambda request: path in request.url
                        and bool(request.headers.get("hx-request")), timeout=20_000)
    assert time.monotonic() - loaded < 25  # long before the regular poll


def test_the_server_interval_is_a_floor(emulator, live_server, page, browser_login, settings):
    settings.ACTIONS_POLL_INTERVAL = 10
    browser_login("operator")
    created = emulator.create_action("VOUCHERS.IMPORT", duration=60)
    page.goto(f"{live_server.url}/actions/{created['id']}/")
    expect(page.locator("#live-interval option[value='2']")).to_be_disabled()
    expect(page.locator("#live-interval option[value='5']")).to_be_disabled()
    expect(page.locator("#live-interval option[value='30']")).to_be_enabled()
    page.evaluate("document.getElementById('live-interval').value = '2';"
                  "document.getElementById('live-interval').dispatchEvent("
                  "new Event('change', {bubbles: true}))")  # as a forged choice would
    expect(page.locator("#action-panel")).to_have_attribute(
        "hx-trigger", re.compile(r"^every 10s, poll-resume, load delay:\d{5}ms$"))


def test_times_switch_between_relative_and_exact_and_stay_so(
    emulator, live_server, page, browser_login
):
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/")
    first = page.locator("tbody time[data-relative]").first
    expect(first).to_have_text(re.compile(r"(ago|just now)$"))
    button = page.locator("#time-format")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_text("Times: exact")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(first).to_have_text(re.compile(r"[A-Z][a-z]{2}\b.*\d{2}:\d{2}"))  # "Nov 29, 14:02"
    page.reload()
    expect(page.locator("tbody time[data-relative]").first).to_have_text(
        re.compile(r"[A-Z][a-z]{2}\b.*\d{2}:\d{2}"))
    page.click("#time-format")
    expect(page.locator("tbody time[data-relative]").first).to_have_text(
        re.compile(r"(ago|just now)$"))


def test_a_stored_choice_that_is_garbage_or_storage_that_throws_leaves_the_servers_pace(
    running_panel
):
    page, path, polls = running_panel
    panel = page.locator("#action-panel")
    key = page.evaluate(
        "'dashboard:' + document.getElementById('live-controls').dataset.person + ':'")
    # "1e9" s would overflow the browser's timer, which then fires at once: a poll storm.
    for stored in ("1e9", "-5", "banana", "3"):
        page.evaluate("([key, value]) => localStorage.setItem(key + 'interval', value)",
                      [key, stored])
        page.reload()
        expect(page.locator("#live-interval")).to_have_value("0")
        expect(panel).to_have_attribute("hx-trigger", SERVERS_PACE)
        expect(page.locator("#live-state")).to_have_text("Updating every 1 s.")

    # Storage switched off (it throws): the controls still work, for this page only.
    page.add_init_script("""
      Storage.prototype.getItem = function () { throw new DOMException("off", "SecurityError"); };
      Storage.prototype.setItem = function () { throw new DOMException("off", "SecurityError"); };
    """)
    page.reload()
    expect(page.locator("#live-interval")).to_have_value("0")
    page.click("#live-toggle")
    expect(page.locator("#live-state")).to_contain_text("Paused")
    page.reload()
    expect(page.locator("#live-toggle")).to_have_text("Live updates: on")


def test_title_and_favicon_say_a_watched_action_finished_until_the_tab_is_focused(
    emulator, live_server, page, browser_login, settings
):
    settings.ACTIONS_POLL_INTERVAL = 1
    browser_login("operator")
    # Running until the page has shown it running: a timed action could finish first.
    action_id = live_action(emulator, status="IN_PROGRESS")
    page.goto(f"{live_server.url}/actions/{action_id}/")
    title = page.title()
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", re.compile(r"favicon-running\.svg$"))
    page.focus("#time-format")  # the person is somewhere on the page
    finish_action(emulator, action_id)
    expect(page.locator("#action-panel .status-DONE")).to_be_visible(timeout=60_000)
    expect(page).to_have_title("✓ Done · " + title)
    expect(icon).to_have_attribute("href", re.compile(r"favicon-done\.svg$"))
    expect(page.locator("#time-format")).to_be_focused()  # the update took no focus
    expect(page.locator("#action-announcer")).to_contain_text("Done")
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(page).to_have_title(title)
    expect(icon).to_have_attribute("href", re.compile(r"/favicon\.svg$"))


@pytest.fixture
def list_watching_a_row(emulator, live_server, page, browser_login, settings):
    """The list open as an operator, showing a running row: (its id, the page's title)."""
    settings.ACTIONS_POLL_INTERVAL = 1
    settings.ACTIONS_DETAILS_PER_POLL = 0
    browser_login("operator")
    action_id = live_action(emulator, status="IN_PROGRESS")  # finished once the page shows it
    page.goto(f"{live_server.url}/actions/")
    # The login's list read is still fresh, so the first page may lack the new action and the
    # "1 new action" banner then reloads the page with it: only a row the page has shown
    # running (its favicon says so) can mark the title when it fails.
    expect(page.locator(f"#row-{action_id}")).to_have_attribute("data-status", "IN_PROGRESS")
    expect(page.locator("link[rel=icon]")).to_have_attribute(
        "href", re.compile(r"favicon-running\.svg$"))
    return action_id, page.title()


def test_a_failing_row_on_the_list_marks_the_title_failed(emulator, page, list_watching_a_row):
    action_id, title = list_watching_a_row
    finish_action(emulator, action_id, status="FAILED")
    expect(page.locator(f"#row-{action_id}")).to_have_attribute(
        "data-status", "FAILED", timeout=60_000)
    expect(page).to_have_title("✗ Failed · " + title)
    expect(page.locator("link[rel=icon]")).to_have_attribute(
        "href", re.compile(r"favicon-failed\.svg$"))


def test_new_actions_wait_while_the_title_says_a_row_failed_and_show_once_seen(
    emulator, page, list_watching_a_row
):
    action_id, title = list_watching_a_row
    finish_action(emulator, action_id, status="FAILED")
    expect(page).to_have_title("✗ Failed · " + title, timeout=60_000)
    page.evaluate("window.loadedOnce = true")  # gone if the page reloaded

    newer = live_action(emulator, status="IN_PROGRESS")  # the person is at the top
    expect(page.locator("#new-actions a")).to_have_text("1 new action · show", timeout=60_000)
    with page.expect_request(lambda request: "/actions/new/" in request.url):
        pass  # one more check: a reload the link asked for would have begun by now
    assert page.evaluate("window.loadedOnce") is True
    expect(page).to_have_title("✗ Failed · " + title)

    page.evaluate("window.dispatchEvent(new Event('focus'))")  # the person is back: shown
    expect(page.locator(f"#row-{newer}")).to_have_count(1)
    expect(page).to_have_title(title)


def test_a_saved_view_round_trip(emulator, live_server, page, browser_login):
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/?status=FAILED")
    page.fill("#saved-view-name", "Failed ones")
    page.click("form.save-view button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/actions/?status=FAILED")
    expect(page.locator("ul.messages")).to_contain_text("Saved the view “Failed ones”")
    page.goto(f"{live_server.url}/actions/")
    page.click(".saved-view-list a:text('Failed ones')")
    expect(page).to_have_url(f"{live_server.url}/actions/?status=FAILED")
    expect(page.locator(".saved-view-list a[aria-current=page]")).to_have_text("Failed ones")
    page.fill("#saved-view-name", "Failed ones")  # the same name again: a sentence, no 500
    page.click("form.save-view button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("You already have a view named")
    page.click(".saved-view .delete-view")
    expect(page.locator("ul.messages")).to_contain_text("Deleted the view “Failed ones”")
    expect(page.locator(".saved-view-list")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_controls_pass_axe_in_every_state(
    emulator, live_server, page, browser_login, settings, scheme
):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 100_000
    page.emulate_media(color_scheme=scheme)
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/?status=DONE")
    page.fill("#saved-view-name", "Done ones")
    page.click("form.save-view button[type=submit]")
    page.click("#live-toggle")
    page.click("#time-format")
    expect(page.locator("#live-state")).to_contain_text("Paused")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []


def test_relative_times_keep_moving_in_swapped_and_out_of_band_fragments(
    emulator, live_server, page, browser_login
):
    browser_login("operator")
    page.goto(f"{live_server.url}/actions/")
    # What a poll brings: a fragment for its target and one out of band, each written by the
    # server with a "last read" moment 30 s ago and a text that would freeze if left alone.
    page.evaluate("""() => {
      const ago = new Date(Date.now() - 30000).toISOString();
      const time = (id) => `<time id="${id}" datetime="${ago}" data-relative>frozen</time>`;
      for (const id of ["swap-target", "oob-target"]) {  // where no real poll swaps
        const target = document.createElement("div");
        target.id = id;
        document.querySelector("main").append(target);
      }
      htmx.swap("#swap-target", time("swapped") +
                `<div id="oob-target" hx-swap-oob="true">${time("out-of-band")}</div>`,
                {swapStyle: "innerHTML"});
    }""")
    for name in ("swapped", "out-of-band"):
        moment = page.locator(f"#{name}")
        expect(moment).to_have_text(re.compile(r"^3\d s ago$"))
        first = moment.inner_text()
        expect(moment).not_to_have_text(first, timeout=5_000)  # it keeps counting
