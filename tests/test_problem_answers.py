"""One failure, one answer: the list, the detail page and the CSV export give the same HTTP
status and Retry-After for the same upstream fault, and word the dashboard's own holding back
differently from Voucherify's rate limit."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from django.core.cache import cache

from dashboard.polling import problems
from dashboard.voucherify import errors

PAGES = ("/actions/", "/actions/{id}/", "/actions/{id}/failures.csv")
FAULTS = [  # (injected fault, status of a page with nothing to show, problem kind)
    pytest.param({"force_429": True, "retry_after": 40}, 503, "rate-limited", id="429"),
    pytest.param({"error_rate": 1.0, "error_status": 503}, 502, "upstream-error", id="503"),
    pytest.param({"error_rate": 1.0, "error_status": 500}, 502, "upstream-error", id="500"),
    pytest.param({"drop_connection": True}, 502, "unavailable", id="dropped"),
    pytest.param({"malformed_json": True}, 502, "invalid-response", id="malformed"),
]


def problem_of(response) -> BeautifulSoup | None:
    return BeautifulSoup(response.content, "html.parser").select_one(".upstream-problem")


def answer(response) -> tuple[int, str | None, str]:
    problem = problem_of(response)
    return response.status_code, response.get("Retry-After"), problem.get("data-problem", "")


@pytest.mark.parametrize(("fault", "status", "kind"), FAULTS)
@pytest.mark.parametrize("path", PAGES)
def test_each_page_answers_a_fault_alike(support_client, emulator, path, fault, status, kind):
    action = emulator.create_action("CUSTOMERS.IMPORT_CSV", outcome="FAILED", duration=0)
    emulator.set_faults(**fault)
    got_status, retry_after, got_kind = answer(support_client.get(path.format(id=action["id"])))
    assert (got_status, got_kind) == (status, kind)
    if status == 503:
        assert 1 <= int(retry_after) <= 40
    else:
        assert retry_after is None


def test_a_429_gives_list_and_detail_the_same_status_and_retry_after(support_client, emulator):
    action = emulator.create_action("VOUCHERS.IMPORT", duration=60)
    emulator.set_faults(force_429=True, retry_after=40)
    on_list = support_client.get(PAGES[0])
    cache.clear()  # the detail meets the same fault, not the list's remembered 429
    on_detail = support_client.get(PAGES[1].format(id=action["id"]))
    assert on_list.status_code == on_detail.status_code == 503
    assert abs(int(on_list["Retry-After"]) - int(on_detail["Retry-After"])) <= 1


def test_the_budget_holding_back_is_the_same_answer_everywhere_and_not_a_429(
    support_client, emulator, settings
):
    settings.VOUCHERIFY_CALLS_PER_MINUTE = 1
    settings.VOUCHERIFY_BUDGET_RESERVE = 0
    assert support_client.get("/actions/").status_code == 200  # spends the one call
    unknown = "aa_0d00000000000ffff2"  # not on the page just read: it needs a call of its own
    answers = [
        support_client.get(path.format(id=unknown))
        for path in ("/actions/?end_date=2020-01-01T00:00:00.000Z", *PAGES[1:])
    ]
    assert emulator.stats()["total"] == 1
    assert {response.status_code for response in answers} == {503}
    assert {problem_of(r)["data-problem"] for r in answers} == {"held-back"}
    assert all(1 <= int(r["Retry-After"]) <= 61 for r in answers)
    held_back = " ".join(problem_of(answers[0]).get_text().split())
    assert "holding back" in held_back and "protect your API limit" in held_back

    cache.clear()
    emulator.set_faults(force_429=True)
    limited = " ".join(problem_of(support_client.get("/actions/")).get_text().split())
    assert "Voucherify's rate limit was reached" in limited
    assert "holding back" not in limited and "protect your API limit" not in limited
    assert "rate limit was reached" not in held_back


def test_every_error_class_has_its_own_words_and_anything_else_is_a_500():
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.VoucherifyError)]
    kinds = {cls: problems.describe(cls()).kind for cls in classes
             if cls is not errors.VoucherifyError}
    assert "error" not in kinds.values()  # none falls through to the generic wording
    assert len(set(kinds.values())) == len(kinds)
    unexpected = problems.describe(RuntimeError("boom"))
    assert (unexpected.http_status, unexpected.retry_after) == (500, None)
    assert "boom" not in unexpected.sentence  # an exception's text is not for the page
