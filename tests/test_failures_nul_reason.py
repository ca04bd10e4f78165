"""A reason holding NUL (U+0000) filters the failed rows whichever way it comes back: a
browser sends the reason select's value with U+FFFD in its place, the group link sends %00.
Both find the same rows, in a result kept whole (in memory) and in one stored apart."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.helpers.html import csv_rows, soup, text_of

ACTION_ID = "aa_0e0000000000000f02"
NUL, STANDIN = "\x00", "\ufffd"


def generated_reasons(rng: random.Random) -> list[str]:
    """Reasons with NUL anywhere: alone, first, last, twice, beside a U+FFFD of their own."""
    words = ["code", "e-mail", "Straße", STANDIN, " "]
    reasons = {NUL, f"{NUL}lead", "trail" + NUL}
    while len(reasons) < 8:
        reasons.add(NUL.join(rng.choices(words, k=rng.randint(2, 4))))
    return sorted(reasons)


@pytest.fixture(params=[(12, 5), (299, 7)], ids=["kept-whole", "stored-apart"])
def rows(request, emulator) -> list[dict]:
    count, seed = request.param
    rng = random.Random(seed)
    reasons = generated_reasons(rng)
    generated = [{"code": f"CODE-{n:05d}", "row": n + 2, "reason": rng.choice(reasons)}
                 for n in range(count)]
    emulator.insert_action({
        "id": ACTION_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": "2024-05-01T10:00:00Z",
        "result": {"done_count": 10, "failed_count": count, "failed": generated}})
    return generated


def shown_reason(reason: str) -> str:
    return reason.strip().replace(NUL, STANDIN)


def test_a_reason_with_nul_finds_its_rows_from_the_select_and_the_link(rows, support_client):
    counts = Counter(shown_reason(row["reason"]) for row in rows)
    page = soup(support_client.get(f"/actions/{ACTION_ID}/"))
    offered = [option["value"] for option in page.select("#failures-reason option")][1:]
    assert offered and set(offered) <= set(counts)
    for reason, count in counts.items():
        for sent in (reason, reason.replace(STANDIN, NUL)):  # the select; a link's %00
            response = support_client.get(f"/actions/{ACTION_ID}/", {"reason": sent})
            section = soup(response).find(id="failures")
            assert text_of(section.select_one("a.csv-these")) == (
                f"Download these {count} as CSV"), repr(sent)
            body = csv_rows(support_client.get(f"/actions/{ACTION_ID}/failures.csv",
                                               {"reason": sent}))[1:]
            assert [shown_reason(line[-1]) for line in body] == [reason] * count
