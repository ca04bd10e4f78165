"""The panel polls while the action is live and the terminal answer (286) stops the polling."""

from __future__ import annotations

import re
import time
import warnings

from django.core.cache.backends.base import CacheKeyWarning
from django.test import Client

from dashboard.polling import store
from tests.helpers.html import soup, text_of

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-panel"}


def poll_until_stopped(client, url: str, seconds: float = 30):
    """Poll like htmx until an answer is not a plain 200 (the 286 that ends polling)."""
    deadline = time.monotonic() + seconds
    response = client.get(url, **HTMX)
    while response.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.25)
        response = client.get(url, **HTMX)
    return response


def test_live_action_page_polls_at_the_server_interval(emulator, support_client, settings):
    settings.ACTIONS_POLL_INTERVAL = 3
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    response = support_client.get(f"/actions/{created['id']}/")
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    page = soup(response)
    panel = page.find(id="action-panel")
    assert panel["hx-trigger"].startswith("every 3s, poll-resume, load delay:")
    assert panel.has_attr("data-poll")
    assert panel["hx-get"] == f"/actions/{created['id']}/?seen=ENQUEUED"
    assert panel["hx-swap"] == "outerHTML"
    assert "Waiting in Voucherify's queue" in text_of(panel.select_one(".detail-live"))
    progress = panel.find("progress")
    assert progress["max"] == "100" and progress["aria-label"] == "Progress of this action"
    # The announcer lives outside the swapped panel, so it survives every swap.
    announcer = page.find(id="action-announcer")
    assert announcer["aria-live"] == "polite" and announcer.find_parent(id="action-panel") is None


def test_htmx_poll_gets_the_panel_alone(emulator, support_client):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    response = support_client.get(f"/actions/{created['id']}/?seen=ENQUEUED", **HTMX)
    assert response.status_code == 200
    body = soup(response)
    assert body.find("html") is None and body.find("header") is not None
    assert body.find(id="action-panel")["hx-trigger"].startswith("every ")
    # Unchanged status: nothing to announce.
    assert body.find(id="action-announcer") is None


def test_status_change_is_announced_out_of_band(emulator, support_client):
    created = emulator.create_action("VOUCHERS.IMPORT", duration=300)
    response = support_client.get(f"/actions/{created['id']}/?seen=SOMETHING_ELSE", **HTMX)
    announcer = soup(response).find(id="action-announcer")
    assert announcer["hx-swap-oob"] == "innerHTML"
    assert text_of(announcer) == "Status: Enqueued."


def test_terminal_answer_is_286_with_the_final_panel(emulator, support_client, settings):
    settings.ACTIONS_POLL_INTERVAL = 0.5
    result = {"message": "1 voucher(s) imported successfully, 1 failed.", "done_count": 1,
              "failed_count": 1, "failed": [{"code": "X1", "reason": "Duplicated code"}]}
    created = emulator.create_action("VOUCHERS.IMPORT", duration=1.5, result=result)
    url = f"/actions/{created['id']}/?seen=ENQUEUED"
    first = support_client.get(url, **HTMX)
    assert first.status_code == 200
    assert soup(first).find(id="action-panel").has_attr("hx-trigger")

    response = poll_until_stopped(support_client, url)
    assert response.status_code == 286
    final = soup(response)
    panel = final.find(id="action-panel")
    assert not panel.has_attr("hx-trigger") and not panel.has_attr("data-poll")
    assert not panel.has_attr("hx-get")
    assert "Done" in text_of(panel.select_one(".status"))
    assert result["message"] in text_of(panel.select_one(".result-message"))
    assert len(panel.select("table.failure-table tbody tr")) == 1
    assert re.fullmatch(r"Status: Done\. This voucher import finished, .*1 of 2 rows failed\.",
                        text_of(final.find(id="action-announcer")))


def test_finished_action_polled_once_more_still_stops(emulator, support_client):
    emulator.insert_action({
        "id": "aa_0d0000000000000b01", "type": "ORDERS.IMPORT", "status": "DONE",
        "created_at": "2024-05-01T10:00:00Z", "progress": 100, "result": {"done_count": 2},
    })
    response = support_client.get("/actions/aa_0d0000000000000b01/?seen=DONE", **HTMX)
    assert response.status_code == 286
    assert soup(response).find(id="action-announcer") is None
    # A plain page load of a finished action is a normal 200 without polling.
    page = support_client.get("/actions/aa_0d0000000000000b01/")
    assert page.status_code == 200
    assert not soup(page).find(id="action-panel").has_attr("hx-trigger")


def test_a_finished_action_whose_result_could_not_be_read_keeps_polling(
    emulator, support_client, settings
):
    settings.ACTIONS_POLL_INTERVAL = 0.5
    created = emulator.create_action("VOUCHERS.IMPORT", duration=1, result={"done_count": 3})
    url = f"/actions/{created['id']}/?seen=ENQUEUED"
    assert support_client.get(url, **HTMX).status_code == 200
    time.sleep(1.5)  # finished upstream; the read of its result will fail
    emulator.set_faults(error_rate=1.0, error_status=503, endpoints=["/v1/async-actions/{id}"])
    stale = support_client.get(url, **HTMX)
    assert stale.status_code == 200  # not 286: the final content is not here yet
    panel = soup(stale).find(id="action-panel")
    assert panel.has_attr("hx-trigger") and panel.has_attr("data-poll")

    emulator.clear_faults()
    response = poll_until_stopped(support_client, url)
    assert response.status_code == 286
    assert not soup(response).find(id="action-panel").has_attr("hx-trigger")


def test_a_superusers_stale_panel_is_not_shared_with_other_viewers(
        emulator, user_factory, settings, monkeypatch):
    """A panel served stale says why; a superuser's also says what to check in the settings
    (actions/_error.html). One render is shared by the viewers who see the same panel: a
    support user, who has the same permissions, must not get the superuser's."""
    settings.ACTIONS_POLL_INTERVAL = 2
    admin, support = Client(), Client()
    admin.force_login(user_factory("admin"))
    support.force_login(user_factory("support"))
    created = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    url = f"/actions/{created['id']}/?seen=ENQUEUED"
    assert admin.get(url, **HTMX).status_code in (200, 204)  # read fresh once
    emulator.set_faults(error_rate=1.0, error_status=401,
                        endpoints=["/v1/async-actions", "/v1/async-actions/{id}"])
    later = store.now() + 30  # due again: the refresh is refused, the panel is served stale
    monkeypatch.setattr(store, "now", lambda: later)  # both polls in the same second
    for first, second in ((admin, support), (support, admin)):
        hints = {}
        for client in (first, second):
            answer = client.get(url, **HTMX)
            assert answer.status_code == 200
            assert soup(answer).select_one(".stale") is not None
            hints[client] = soup(answer).select_one(".admin-hint") is not None
        assert hints == {admin: True, support: False}


def test_back_to_an_address_the_failures_pushed_gets_the_whole_page(emulator, support_client):
    """Filtering the failed rows pushes the detail page's address with the filter; going Back
    to it, htmx asks for it again as an htmx request (history restore, its cache being off)
    and swaps the answer into the body: that answer is the page, never the panel or a 286."""
    emulator.insert_action({
        "id": "aa_0d0000000000000c01", "type": "VOUCHERS.IMPORT", "status": "DONE",
        "created_at": "2024-05-01T10:00:00Z", "progress": 100,
        "result": {"done_count": 1, "failed_count": 1,
                   "failed": [{"code": "X1", "reason": "Duplicated code"}]}})
    restored = support_client.get(
        "/actions/aa_0d0000000000000c01/?reason=Duplicated+code",
        HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/actions/")
    assert restored.status_code == 200
    page = soup(restored)
    assert page.select_one("nav.breadcrumbs, .breadcrumbs") is not None
    assert page.select_one("#action-panel") is not None


def test_whatever_a_poll_says_it_has_seen_costs_no_render_or_cache_entry_of_its_own(
        emulator, support_client):
    """`seen` only decides whether the status is announced: two polls that both announce it
    share one render, and a hostile value makes no cache key of its own (too long, NUL)."""
    created = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    path = f"/actions/{created['id']}/"
    support_client.get(path)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always", CacheKeyWarning)
        answers = [support_client.get(path, {"seen": seen}, **HTMX)
                   for seen in ("DONE", "x" * 5000, "\x00", "ENQUEUED")]
    assert not [w for w in warned if issubclass(w.category, CacheKeyWarning)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    assert 'id="action-announcer"' in answers[0].content.decode()
    assert 'id="action-announcer"' not in answers[3].content.decode()
