"""What the purge index (models.PURGE_INDEX) carries, and the size its entries must keep.

On PostgreSQL it carries every column the purge audit reads, so the CSV reads the index alone,
in order: at a million archived actions the purges are spread one per table block, and
reading those blocks and sorting them was 150-200 ms of a 20,000-row CSV; the index alone is
30 ms. A B-tree entry must stay under 2,704 bytes, though. The other text columns it carries
are bounded by their own lengths (id 64 characters, type 200, status 32, request id and log id
100: at most 1,984 bytes at four bytes a character); who started a purge and what it reports
updating come from upstream unbounded, so an absurdly long one is cut to fit
(`fit_purge_cells`). The whole user and result stay in their own columns.
"""

from __future__ import annotations

# Every text column of one purge's entry together, in UTF-8 bytes: with the fixed columns and
# the entry's own overhead (under 100 bytes) it stays below 2,704.
TEXT_BYTES = 2_400
BOUNDED = ("type", "status", "request_id", "log_id")  # with the id
UNBOUNDED = ("records_updated", "started_by")  # cut in this order, records first
CUT_MARK = "…"
INCLUDED = ("type", "status", "has_detail", "updated_at", "duration_ms", "request_id",
            "log_id", "started_by", "records_updated")


def fit_purge_cells(action_id: str, fields: dict) -> dict:
    """`fields` (an archive row's columns) with started_by and records_updated cut, when
    needed, so that the purge's index entry stays within TEXT_BYTES; each keeps at least half
    of what is left after the bounded columns, more when the other needs less."""
    sizes = {name: len(fields[name].encode()) for name in UNBOUNDED}
    left = TEXT_BYTES - len(action_id.encode()) - sum(
        len(fields[name].encode()) for name in BOUNDED)
    if sum(sizes.values()) <= left:
        return fields
    records = _cut(fields["records_updated"], max(left // 2, left - sizes["started_by"]))
    started = _cut(fields["started_by"], left - len(records.encode()))
    return {**fields, "records_updated": records, "started_by": started}


def _cut(text: str, limit: int) -> str:
    """`text` within `limit` UTF-8 bytes, ending in CUT_MARK when it was cut."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(CUT_MARK.encode())
    if room <= 0:
        return ""
    return text.encode()[:room].decode("utf-8", "ignore") + CUT_MARK
