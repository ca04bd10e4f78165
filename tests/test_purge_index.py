"""A purge's row is an entry of the purge index too (purge_index.py), and on PostgreSQL an entry
over 2,704 bytes is refused: the whole archive write would fail. Generated upstream values (the
longest each column keeps, four bytes a character, unbounded users and counts) must always fit,
cut only when they have to be and visibly; the audit still shows them whole."""

from __future__ import annotations

import csv
import io
import random

import pytest

from dashboard.emulator import seed as emulator_seed
from dashboard.history import purge_reads
from dashboard.history.archive import archive_actions, row_fields
from dashboard.history.models import ArchivedAction
from dashboard.history.purge_index import BOUNDED, CUT_MARK, TEXT_BYTES, fit_purge_cells
from dashboard.voucherify.models import Action

# The bounded columns' lengths, in characters, as the model keeps them.
LIMITS = {name: ArchivedAction._meta.get_field(name).max_length for name in ("id", *BOUNDED)}
ALPHABET = ["a", "7", " ", "é", "中", "𝔘", "=", ",", '"', "\n"]  # one to four bytes each


def text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def generated_cells(rng: random.Random) -> tuple[str, dict]:
    def bounded(name: str) -> str:
        limit = LIMITS[name]
        return text(rng, rng.choice([0, rng.randrange(limit), limit]))

    fields = {name: bounded(name) for name in BOUNDED}
    for name in ("started_by", "records_updated"):
        fields[name] = text(rng, rng.choice([0, 5, 300, 700, 2_000, 30_000]))
    return bounded("id"), fields


def entry_bytes(action_id: str, fields: dict) -> int:
    return len(action_id.encode()) + sum(
        len(fields[name].encode()) for name in (*BOUNDED, "started_by", "records_updated"))


def test_the_bounded_columns_alone_leave_room_for_the_cut_cells():
    """The guarantee rests on the model's lengths: a longer column there must come with a
    smaller budget here, or an entry could pass the limit whatever is cut."""
    assert sum(4 * length for length in LIMITS.values()) <= TEXT_BYTES - 400


def test_generated_cells_always_fit_and_are_cut_only_when_they_must():
    rng = random.Random(2704)
    cut = 0
    for _ in range(3000):
        action_id, fields = generated_cells(rng)
        fitted = fit_purge_cells(action_id, fields)
        assert entry_bytes(action_id, fitted) <= TEXT_BYTES
        if entry_bytes(action_id, fields) <= TEXT_BYTES:
            assert fitted is fields  # nothing cut
            continue
        cut += 1
        assert {name: fitted[name] for name in BOUNDED} == {n: fields[n] for n in BOUNDED}
        left = TEXT_BYTES - entry_bytes(action_id, {**fields, "started_by": "",
                                                    "records_updated": ""})
        for name in ("started_by", "records_updated"):
            kept, whole = fitted[name], fields[name]
            if kept != whole:  # a prefix, marked as cut
                assert kept.endswith(CUT_MARK) and whole.startswith(kept[:-len(CUT_MARK)])
                # each keeps close to half of the room left at least (a character may not fit)
                assert len(kept.encode()) >= min(len(whole.encode()), left // 2) - 4
    assert cut > 500  # the generator does reach the limit


def test_a_purge_with_an_absurd_user_is_archived_and_audited_whole(auditor_client):
    rng = random.Random(9)
    name = "𝔘" * 20_000  # 80,000 bytes of a user name
    action = emulator_seed.new_action(
        rng, "CUSTOMERS.METADATA_KEY_PURGE", 1_780_000_000_000, 900, "DONE",
        action_id="aa_0000absurd00000001", user={"name": name}, log_id="log_" + "中" * 96,
        result={"message": "Updated " + "9" * 5_000 + " customers."})
    assert archive_actions([Action.from_json(action.render(1_790_000_000_000))], detail=True) == 1
    row = ArchivedAction.objects.get(pk="aa_0000absurd00000001")
    assert row.user == {"name": name}  # the detail page still shows who, whole
    # The columns the index carries are cut to fit its entry
    assert row.started_by.endswith(CUT_MARK) and name.startswith(row.started_by[:-1])
    assert row.records_updated.endswith(CUT_MARK)
    assert entry_bytes(row.id, row_fields(Action.from_json(action.render(1_790_000_000_000)),
                                          True)) <= TEXT_BYTES
    # The audit shows the cells whole: worked out again from user and result for this row.
    [found] = list(purge_reads.PurgeSelection().texts())
    assert found[purge_reads.COLUMNS.index("started_by")] == name
    assert found[purge_reads.COLUMNS.index("records_updated")] == "9" * 5_000
    [on_page] = purge_reads.PurgeSelection().page(limit=10)
    assert on_page[purge_reads.COLUMNS.index("status")] == "DONE"
    assert on_page[purge_reads.COLUMNS.index("started_by")] == name
    response = auditor_client.get("/audit/purges.csv")
    [exported] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (exported["user"], exported["records_updated"]) == (name, "9" * 5_000)


@pytest.mark.parametrize("context", ["CUSTOMERS", "VOUCHERS"])
def test_other_actions_keep_their_cells_whole(db, context):
    rng = random.Random(3)
    action = emulator_seed.new_action(
        rng, f"{context}.IMPORT", 1_780_000_000_000, 900, "DONE", action_id="aa_00000other0000001",
        user={"name": "𝔘" * 5_000})
    fields = row_fields(Action.from_json(action.render(1_790_000_000_000)), True)
    assert fields["started_by"] == "𝔘" * 5_000  # not in the purge index: nothing to fit
