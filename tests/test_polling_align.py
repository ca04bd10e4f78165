"""Live elements poll once more just after the next refresh (dashboard/polling/align.py):
each answer, Django's or one repeated in front of it, times that poll from when it is sent."""

from __future__ import annotations

import re
import time

import pytest

from dashboard import hot
from dashboard.polling import align, economy
from dashboard.polling import reads as upstream
from tests.helpers.html import soup
from tests.helpers.upstream import LIST, live_action, upstream_calls

DELAY = re.compile(r"load delay:(\d{5})ms")
SPREAD_MS = 100


@pytest.fixture
def fixed_spread(monkeypatch):
    """The spread of the early polls made one value: the tests can say each delay."""
    monkeypatch.setattr(align, "AFTER_MS", (SPREAD_MS, SPREAD_MS))


def element(trigger: str = f"every 2s, poll-resume{align.TRIGGER}") -> bytes:
    return f'<div id="live-poller" hx-trigger="{trigger}">'.encode()


def delay_in(body: bytes) -> int:
    [delay] = DELAY.findall(body.decode())
    return int(delay)


def refreshed(layer) -> float:
    """The newest page read once: when that read counts from."""
    ids = [live_action(layer) for _ in range(2)]
    latest = upstream.refresh_live(ids)
    assert upstream_calls(layer, LIST) == 1
    return next(iter(latest.values())).fetched_at.timestamp()


def test_an_answer_times_its_early_poll_from_the_moment_it_is_sent(layer, clock, fixed_spread):
    read_at = refreshed(layer)
    due = read_at + economy.live_max_age()
    body = element()

    for sent in (read_at + 0.2, read_at + 1.0, due - 0.05, due + 0.5):
        timed = align.retime(body, now=sent)
        assert len(timed) == len(body)  # Content-Length and replayed bodies stay right
        assert delay_in(timed) == max(0, round((due - sent) * 1000)) + SPREAD_MS
    # The same answer sent again later is timed again.
    assert delay_in(align.retime(align.retime(body, now=read_at), now=read_at + 1)) == (
        delay_in(align.retime(body, now=read_at)) - 1000)


def test_no_early_poll_before_any_refresh_or_while_it_is_put_off(layer, clock, fixed_spread):
    body = element()
    assert delay_in(align.retime(body)) == align.NEVER_MS  # nothing read yet
    read_at = refreshed(layer)
    overdue = read_at + economy.live_max_age() + align.OVERDUE_SECONDS + 0.1
    assert delay_in(align.retime(body, now=overdue)) == align.NEVER_MS  # the pace holds it


def test_the_spread_keeps_viewers_from_polling_in_one_instant(layer, clock):
    read_at = refreshed(layer)
    due_in_ms = round(economy.live_max_age() * 1000)
    delays = {align.delay_ms(now=read_at) for _ in range(200)}
    low, high = align.AFTER_MS
    assert all(due_in_ms + low <= delay <= due_in_ms + high for delay in delays)
    assert len(delays) > 50


def test_pages_and_polls_of_live_elements_carry_a_timed_early_poll(
    emulator, operator_client, settings, fixed_spread
):
    settings.ACTIONS_POLL_INTERVAL = 3
    created = emulator.create_action("VOUCHERS.IMPORT", duration=600)
    listed = operator_client.get("/actions/")  # reads the newest page
    poller = soup(listed).select_one("#live-poller")["hx-trigger"]
    page = operator_client.get(f"/actions/{created['id']}/")
    panel = soup(page).select_one("#action-panel")["hx-trigger"]
    for trigger in (poller, panel):
        assert re.fullmatch(r"every 3s, poll-resume, load delay:\d{5}ms", trigger)
        assert SPREAD_MS <= delay_in(trigger.encode()) <= 3000 + SPREAD_MS


def test_the_next_refresh_is_known_without_the_shared_cache_only_here(layer, clock, monkeypatch):
    """Redis away: the moment is remembered in this process for a moment, then unknown (no
    early poll; the regular ones still come), never an error."""
    read_at = refreshed(layer)
    assert align.refresh_due() == pytest.approx(read_at + economy.live_max_age())

    def unreachable(*args, **kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr(align.cache, "get", unreachable)
    monkeypatch.setattr(align.cache, "set", unreachable)
    hot.clear()
    assert align.refresh_due() is None
    assert delay_in(align.retime(element())) == align.NEVER_MS
    align.note_refresh_due(read_at + 3)  # storing it fails quietly


def test_upstream_text_that_looks_like_the_trigger_is_never_rewritten(
    emulator, support_client, fixed_spread
):
    """Only an hx-trigger the templates wrote is timed: the same words in a failed row's
    reason or in the raw JSON stay as upstream sent them."""
    lookalikes = ["load delay:12345ms", 'hx-trigger="every 2s, poll-resume, load delay:12345ms"',
                  "every 1s, load delay:00000ms\"", "load delay:99999ms<"]
    action_id = "aa_0e0000000000000f77"
    emulator.insert_action({
        "id": action_id, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": "2024-05-01T10:00:00Z", "request_id": lookalikes[1],
        "result": {"done_count": 1, "failed_count": 4, "message": lookalikes[0],
                   "failed": [{"code": "X", "row": n + 2, "reason": text}
                              for n, text in enumerate(lookalikes)]}})
    align.note_refresh_due(time.time() + 2)
    page = support_client.get(f"/actions/{action_id}/")
    assert page.status_code == 200
    shown = soup(page)
    reasons = [cell.get_text() for cell in shown.select("#failures td")]
    for text in lookalikes:
        assert text in reasons
    raw = page.content.decode()
    assert raw.count("12345ms") == page.content.count(b"12345ms") >= 3
    assert "00000ms" in shown.get_text() and "99999ms&lt;" in raw
