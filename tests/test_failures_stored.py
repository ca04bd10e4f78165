"""Failures read from the database answer exactly what the in-memory table answers: the same
groups, counts, pages and CSV rows for any generated result, reason filter and search."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.history import failed_items
from dashboard.history.archive import archive_detail
from dashboard.history.failures import FailureQuery, failures_of
from dashboard.history.models import ArchivedAction
from dashboard.voucherify.models import Action

# Any text but the two characters the search column reserves (see failed_items).
TEXT = st.text(st.characters(blacklist_characters="\x1f\ufffd", blacklist_categories=("Cs",)),
               max_size=12)
# Words whose case SQL's LIKE would not fold (the search column is casefolded instead).
WORD_LIST = ["Straße", "ÜBER", "ünï", "ΌΣΟΣ", "İstanbul", "50%_off", "a\\b"]
WORDS = st.sampled_from(WORD_LIST)
VALUE = st.one_of(st.none(), TEXT, WORDS, st.tuples(TEXT, WORDS).map("".join),
                  st.integers(-10**6, 10**6), st.booleans())
ROW = st.dictionaries(st.sampled_from(["code", "source_id", "row", "reason", "extra", "Ünï"]),
                      VALUE, max_size=5)
ERROR = st.dictionaries(st.sampled_from(["message", "details", "key", "source_id", "other"]),
                        VALUE, max_size=4)


def action_with(failed: list, errors: list) -> Action:
    return Action.from_json({"id": "aa_0c0ffee000000000d1", "type": "VOUCHERS.IMPORT",
                             "status": "DONE", "created_at": "2024-05-01T10:00:00Z",
                             "result": {"failed": failed, "errors": errors}})


@pytest.mark.django_db
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(failed=st.lists(ROW, min_size=21, max_size=60), errors=st.lists(ERROR, max_size=8),
       data=st.data())
def test_stored_failures_answer_like_the_parsed_result(failed, errors, data):
    ArchivedAction.objects.all().delete()
    action = action_with(failed, errors)
    in_memory = failures_of(action)
    archived, _ = archive_detail(action)
    stored = failed_items.failures_for(archived)
    assert isinstance(stored, failed_items.StoredFailures)
    assert (stored.columns, stored.noun, len(stored)) == (
        in_memory.columns, in_memory.noun, len(in_memory))
    assert stored.top_groups() == in_memory.top_groups()
    assert list(stored.all_rows()) == list(in_memory.all_rows())
    cells = [str(value) for row in in_memory.cells for value in row if value is not None]
    reason = data.draw(st.one_of(st.just(""), st.sampled_from(list(in_memory.reasons)), TEXT))
    search = data.draw(st.one_of(st.just(""), TEXT, WORDS.map(str.upper), WORDS.map(str.lower),
                                 st.sampled_from(cells or [""]).map(str.upper),
                                 st.sampled_from(cells or [""]).map(lambda text: text[1:4])))
    query = FailureQuery(reason=reason, search=search.strip())
    start = data.draw(st.integers(0, 30))
    assert stored.count_matching(query) == in_memory.count_matching(query)
    assert stored.rows_matching(query, start, 10) == in_memory.rows_matching(query, start, 10)


@pytest.mark.django_db
@pytest.mark.parametrize("row", ["1E100", str(2**63), str(-(2**63) - 1), 10**30])
def test_a_row_number_too_big_for_the_database_is_stored_and_read_back(row):
    """Found by the property test: "1E100" reads as an integer no SQLite INTEGER holds."""
    failed = [{"code": f"C{i}", "row": i, "reason": "r"} for i in range(25)] + [{"row": row}]
    action = action_with(failed, [])
    in_memory = failures_of(action)
    archived, _ = archive_detail(action)
    stored = failed_items.failures_for(archived)
    assert isinstance(stored, failed_items.StoredFailures)
    assert list(stored.all_rows()) == list(in_memory.all_rows())
