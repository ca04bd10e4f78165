"""The list's counts per status in each context group, kept right by the live poll.

The page knows all its rows; a live poll refreshes only the running ones. So the poll's
address carries what it cannot re-read: the counts of the rows that can no longer change
(`settled`, as context:status:count) and the context of each running row (`ctx`). Each poll
adds the running rows' statuses to the settled counts and answers every group's counts, which
the page swaps in out of band: the browser never counts anything.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dashboard.voucherify import catalog
from dashboard.voucherify.models import Action

SETTLED_PARAM = "settled"
CONTEXTS_PARAM = "ctx"
_SETTLED_ITEM = re.compile(r"([A-Z_]{1,40}):([^:,]{1,60}):([0-9]{1,3})")

Settled = Counter[tuple[str, str]]  # (context, status) -> rows


@dataclass(frozen=True)
class GroupCounts:
    """What a group's status-counts list shows; listing.Group has the same attributes."""

    key: str
    label: str
    status_counts: list[tuple[str, int]]


def ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Counts per status in lifecycle order, then any status nobody documented."""
    shown = [(status, n) for status, n in counts.items() if n]
    return sorted(shown, key=lambda item: (catalog.status_rank(item[0]), item[0]))


def settled_of(rows: Iterable[Action]) -> Settled:
    """Counts of the rows a poll never refreshes (those that are not running)."""
    return Counter((a.context, a.status) for a in rows if not a.is_live)


def settled_param(settled: Settled) -> str:
    return ",".join(f"{c}:{s}:{n}" for (c, s), n in sorted(settled.items()) if n)


def parse_settled(raw: str) -> Settled | None:
    """None when unreadable: the poll then leaves the counts the page shows alone."""
    settled: Settled = Counter()
    for item in filter(None, raw.split(",")):
        found = _SETTLED_ITEM.fullmatch(item)
        if found is None or found[1] not in catalog.CONTEXT_KEYS:
            return None
        settled[(found[1], found[2])] += int(found[3])
    return settled


def parse_query(
    query: Mapping[str, str], ids: Sequence[str]
) -> tuple[dict[str, str], Settled | None]:
    """The running rows' contexts and the settled counts a poll's address carries (None when
    it carries none: the poll then answers no counts)."""
    raw = query.get(SETTLED_PARAM)
    settled = parse_settled(raw) if raw is not None else None
    return parse_contexts(query.get(CONTEXTS_PARAM, ""), ids), settled


def contexts_param(ids: Sequence[str], contexts: Mapping[str, str]) -> str:
    return ",".join(contexts.get(action_id, "") for action_id in ids)


def parse_contexts(raw: str, ids: Sequence[str]) -> dict[str, str]:
    """The context of each running row, by id; unreadable entries are left out."""
    keys = raw.split(",")
    return {
        action_id: key
        for action_id, key in zip(ids, keys, strict=False)
        if key in catalog.CONTEXT_KEYS
    }


def group_counts(settled: Settled, running: Iterable[tuple[str, str]]) -> list[GroupCounts]:
    """Every group's counts from the settled ones and the (context, status) of running rows,
    in the list's order of groups."""
    by_context: dict[str, Counter[str]] = {}
    for (context, status), n in [*settled.items(), *((pair, 1) for pair in running)]:
        by_context.setdefault(context, Counter())[status] += n
    return [
        GroupCounts(key, catalog.CONTEXT_LABELS[key], ordered(by_context[key]))
        for key in catalog.CONTEXT_KEYS
        if key in by_context and ordered(by_context[key])
    ]
