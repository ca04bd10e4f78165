"""Failed rows of finished actions on the list: the list endpoint carries no results.

A DONE action can hold failed rows that only its detail tells. The page shows the counts the
archive already holds; the rest are read in the background by the live poll, a few per poll
at background priority (within the shared budget), then kept for good in the archive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import DatabaseError

from dashboard import hot
from dashboard.history.archive import failed_counts, failed_rows
from dashboard.polling import reads
from dashboard.voucherify import catalog
from dashboard.voucherify.errors import VoucherifyError
from dashboard.voucherify.models import Action

logger = logging.getLogger(__name__)

DETAILS_PARAM = "details"  # the live poll's ids of DONE rows whose failed rows are not known


def known_failed(rows: Iterable[Action]) -> dict[str, int]:
    """Failed rows of each DONE row whose result is known (on the row or in the archive)."""
    done = [action for action in rows if action.status == catalog.DONE]
    counts = {a.id: failed_rows(a.raw["result"]) for a in done if "result" in a.raw}
    unknown = [a.id for a in done if a.id not in counts]
    if unknown:
        try:
            counts.update(failed_counts(unknown))
        except DatabaseError:  # the page goes on without the counts
            logger.exception("Reading failed-row counts from the archive failed")
    return counts


def pending(rows: Iterable[Action], known: dict[str, int]) -> list[str]:
    """DONE rows whose failed rows are not known yet, in the page's order (none when
    ACTIONS_DETAILS_PER_POLL is 0: results are then never read for the list)."""
    if int(settings.ACTIONS_DETAILS_PER_POLL) < 1:
        return []
    return [a.id for a in rows if a.status == catalog.DONE and a.id not in known]


def read_results(ids: Sequence[str]) -> list[Action]:
    """These finished actions with their results: those the archive holds, and up to
    ACTIONS_DETAILS_PER_POLL read upstream; stops at the first that cannot be had (a short
    budget: the next poll tries again)."""
    try:
        archived = set(failed_counts(ids))
    except DatabaseError:
        logger.exception("Reading failed-row counts from the archive failed")
        archived = set()
    calls_left = int(settings.ACTIONS_DETAILS_PER_POLL)
    read: list[Action] = []
    for action_id in ids:
        if action_id not in archived:
            if calls_left < 1:
                continue
            calls_left -= 1
        try:
            fetched = reads.fetch_result(action_id)
        except VoucherifyError:
            break
        if fetched.stale:
            break
        read.append(fetched.value)
    return read


def results_for(ids: Sequence[str]) -> list[Action]:
    """read_results, remembered in this process a moment (POLL_MEMORY_SECONDS): every viewer of
    the same rows polls for the same results, and one of them trying is enough."""
    if not ids:
        return []
    return hot.remembered("list-results:" + ",".join(ids), lambda: read_results(ids))


def matches_failures(action: Action, known: dict[str, int]) -> bool:
    """For the "Done with failures" filter: DONE with failed rows known."""
    return action.status == catalog.DONE and known.get(action.id, 0) > 0
