"""The failures section says what each result shape lists: failed rows (imports), errors (bulk
and metadata updates: an error is itself what failed), or both. Filtered to one reason, the
reason is said once above the rows, and its group is marked as the one shown. Ids stay whole.

Counts and reasons are generated (seeded); the expected words are worked out from them."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from dashboard.actions.detail_failures import LONG_ID
from tests.helpers.html import soup, text_of

ACTION_ID = "aa_0e0000000000000e01"
REASONS = ("Customer not found", "Metadata value is too long", "Duplicated voucher code")


def generated(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(REASONS) for _ in range(count)]


def insert(emulator, type_: str, result: dict) -> None:
    emulator.insert_action({"id": ACTION_ID, "type": type_, "status": "DONE", "progress": 100,
                            "created_at": "2024-05-01T10:00:00Z", "result": result})


def panel(client, **params):
    response = client.get(f"/actions/{ACTION_ID}/", params)
    assert response.status_code == 200
    return soup(response).find(id="action-panel")


def groups(html) -> list[str]:
    return [text_of(li) for li in html.select(".reason-groups li")]


def expected_groups(reasons: list[str], one: str, many: str) -> list[str]:
    counts = sorted(Counter(reasons).items(), key=lambda pair: (-pair[1], pair[0]))
    return [f"{count} {one if count == 1 else many}: {reason}" for reason, count in counts]


@pytest.mark.parametrize("seed", [3, 8])
def test_failed_rows_are_rows_that_failed(emulator, support_client, seed):
    reasons = generated(seed, random.Random(seed).randint(2, 40))
    done = random.Random(seed).randint(100, 5000)
    failed = [{"code": f"C-{n}", "row": n + 1, "reason": r} for n, r in enumerate(reasons)]
    insert(emulator, "VOUCHERS.IMPORT_CSV",
           {"done_count": done, "failed_count": len(failed), "failed": failed})
    html = panel(support_client)
    assert text_of(html.select_one("#failures-title")) == f"Failed rows ({len(failed)})"
    assert text_of(html.select_one(".outcome")).endswith(
        f"{len(failed):,} of {len(failed) + done:,} rows failed.")
    assert groups(html) == expected_groups(reasons, "row failed", "rows failed")


@pytest.mark.parametrize("seed", [5, 13])
def test_errors_are_not_errors_that_failed(emulator, support_client, seed):
    reasons = generated(seed, random.Random(seed).randint(2, 40))
    done = random.Random(seed).randint(100, 5000)
    errors = [{"message": r, "key": "invalid", "source_id": f"cust-{n}"}
              for n, r in enumerate(reasons)]
    insert(emulator, "CUSTOMERS.BULK_UPDATE",
           {"done_count": done, "failed_count": len(errors), "errors": errors})
    html = panel(support_client)
    assert text_of(html.select_one("#failures-title")) == f"Errors ({len(errors)})"
    outcome = text_of(html.select_one(".outcome"))
    assert outcome.endswith(f"{len(errors):,} errors in {len(errors) + done:,} records.")
    assert "errors failed" not in outcome
    assert groups(html) == expected_groups(reasons, "error", "errors")
    assert "failed errors" not in text_of(html).lower()


@pytest.mark.parametrize(("result", "sentence"), [
    ({"failed_count": 1200, "done_count": 10, "errors": [{"message": "m"}, {"message": "n"}]},
     "1,200 of 1,210 records failed (2 errors listed)."),
    ({"errors": [{"message": "m"}, {"message": "n"}]}, "2 errors."),
    ({"failed_count": 1, "done_count": 1199, "errors": [{"message": "m"}]},
     "1 error in 1,200 records."),
])
def test_error_counts_in_words(emulator, support_client, result, sentence):
    insert(emulator, "PRODUCTS.METADATA_UPDATE", result)
    assert text_of(panel(support_client).select_one(".outcome")).endswith(sentence)


def test_rows_and_errors_together_are_items(emulator, support_client):
    reasons = generated(21, 12)
    insert(emulator, "VOUCHERS.IMPORT", {
        "failed": [{"code": f"C{n}", "reason": r} for n, r in enumerate(reasons[:6])],
        "errors": [{"message": r} for r in reasons[6:]]})
    html = panel(support_client)
    assert text_of(html.select_one("#failures-title")) == "Failed items (12)"
    assert groups(html) == expected_groups(reasons, "item failed", "items failed")


@pytest.mark.parametrize(("type_", "shape", "reason_header"), [
    ("VOUCHERS.IMPORT_CSV", "failed", "Reason"), ("CUSTOMERS.METADATA_UPDATE", "errors", "Message"),
])
def test_one_reason_is_said_once_and_its_group_is_marked(emulator, support_client, type_, shape,
                                                         reason_header):
    reasons = generated(34, 140)
    if shape == "failed":
        items = [{"source_id": f"u{n}@example.com", "row": n, "reason": r}
                 for n, r in enumerate(reasons)]
    else:
        items = [{"source_id": f"u{n}@example.com", "message": r} for n, r in enumerate(reasons)]
    insert(emulator, type_, {shape: items})
    html = panel(support_client)
    assert not html.select(".reason-groups [aria-current]")
    assert reason_header in [text_of(th) for th in html.select(".failure-table th")]

    reason, count = Counter(reasons).most_common(1)[0]
    html = panel(support_client, reason=reason)
    current = html.select(".reason-groups a[aria-current=true]")
    assert [text_of(a.select_one(".group-reason")) for a in current] == [reason]
    assert current[0].find_parent("li")["class"] == ["current"]
    heading = text_of(html.select_one("#failures-reason-heading"))
    assert heading.endswith(f": {reason}") and heading.startswith(f"{count} ")
    headers = [text_of(th) for th in html.select(".failure-table th")]
    assert reason_header not in headers and "Source id" in headers
    cells = [text_of(td) for td in html.select(".failure-table td")]
    assert reason not in cells
    assert html.select_one(".failure-table")["aria-describedby"] == "failures-reason-heading"


def test_ids_stay_whole_and_only_long_ones_may_break(emulator, support_client):
    rng = random.Random(55)
    ids = ["".join(rng.choices("abcdefghij.-_", k=rng.randint(5, 90))) + "@example.com"
           for _ in range(30)]
    insert(emulator, "CUSTOMERS.IMPORT_CSV",
           {"failed": [{"source_id": value, "row": n, "reason": "r"} for n, value in
                       enumerate(ids)]})
    html = panel(support_client)
    cells = [tr.select("td")[0] for tr in html.select(".failure-table tbody tr")]
    assert [text_of(td) for td in cells] == ids
    for td, value in zip(cells, ids, strict=True):
        assert "cell-id" in td["class"]
        long = len(value) > LONG_ID
        assert ("cell-long" in td["class"]) == long
        assert td.get("title") == (value if long else None)
    # The reason column is plain text, free to wrap.
    assert all(not tr.select("td")[2].get("class") for tr in html.select(".failure-table tbody tr"))
