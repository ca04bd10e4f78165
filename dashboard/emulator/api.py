"""The two async-action endpoints: query validation, paging and the 404."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .responses import Response, error, invalid_query, json_response
from .store import Store
from .timeutil import parse_end_date

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_DIGITS = re.compile(r"^[0-9]+$")


def list_actions(store: Store, query: Mapping[str, list[str]]) -> Response:
    """GET /v1/async-actions?limit=&end_date="""
    limit = DEFAULT_LIMIT
    if "limit" in query:
        raw = query["limit"][0].strip()
        if not _DIGITS.match(raw):
            return invalid_query("Property .limit must be an integer")
        limit = int(raw)
        if limit < 1:
            return invalid_query("Property .limit must be greater than or equal to 1")
        if limit > MAX_LIMIT:
            return invalid_query(f"Property .limit must be less than or equal to {MAX_LIMIT}")
    before_ms = None
    if "end_date" in query:
        before_ms = parse_end_date(query["end_date"][0])
        if before_ms is None:
            return invalid_query(
                "Property .end_date cannot be recognized as a ISO-8601 compliant date"
            )
    items, has_more = store.list_actions(limit, before_ms)
    return json_response(200, {
        "object": "list",
        "data_ref": "async_actions",
        "async_actions": items,
        "has_more": has_more,
    })


def get_action(store: Store, action_id: str) -> Response:
    """GET /v1/async-actions/{asyncActionId}"""
    action = store.get_action(action_id)
    if action is None:
        return error(404, f"Cannot find async_action with id {action_id}",
                     resource_id=action_id, resource_type="async_action")
    return json_response(200, action)
