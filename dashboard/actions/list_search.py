"""Search by the tail of an action id, as the list shows it ("…9d8a7c2c").

Answered from what the dashboard already read, with no upstream call: the archive (every
finished action it has seen) and the shared newest page (the running ones).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

from dashboard.history.archive import ids_ending_with
from dashboard.polling import reads

logger = logging.getLogger(__name__)

MAX_MATCHES = 20


def ids_with_suffix(suffix: str) -> list[str]:
    """Ids ending with `suffix`: the newest page's first, then the archive's, no duplicates."""
    page = reads.newest_read()
    found = [a.id for a in page.actions if a.id.lower().endswith(suffix)] if page else []
    try:
        found += ids_ending_with(suffix, limit=MAX_MATCHES)
    except DatabaseError:
        logger.exception("Searching the archive for an id suffix failed")
    return list(dict.fromkeys(found))[:MAX_MATCHES]
