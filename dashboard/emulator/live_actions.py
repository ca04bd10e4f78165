"""One async action whose status is a function of the clock, and verbatim inserted objects."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .results import operation_status
from .timeutil import format_ms, parse_timestamp

ENQUEUED_SHARE = 0.1  # the first tenth of an action's life is spent waiting in the queue
LIST_HIDDEN = ("result", "user", "log_id", "processing_time")


@dataclass
class Action:
    """A scheduled action: ENQUEUED, then IN_PROGRESS, then its outcome at created + duration."""

    id: str
    type: str
    request_id: str
    created_ms: int
    duration_ms: int
    outcome: str = "DONE"  # DONE or FAILED, reached when the duration has passed
    result: dict | None = None  # the terminal result; None leaves `result` out
    user: dict | None = None
    log_id: str | None = None

    def render(self, now_ms: int, detail: bool = True) -> dict:
        """The object as the API would show it at `now_ms`; `detail=False`: as a list item."""
        elapsed = now_ms - self.created_ms
        finished = elapsed >= self.duration_ms
        if finished:
            status, progress = self.outcome, 100
            updated = self.created_ms + self.duration_ms
        elif elapsed < self.duration_ms * ENQUEUED_SHARE:
            status, progress, updated = "ENQUEUED", 0, self.created_ms
        else:
            share = (elapsed / self.duration_ms - ENQUEUED_SHARE) / (1 - ENQUEUED_SHARE)
            status, progress = "IN_PROGRESS", max(0, min(99, int(share * 100)))
            updated = max(self.created_ms, now_ms)
        body: dict = {"id": self.id, "type": self.type, "status": status}
        op_status = operation_status(self.type, status, self.result)
        if op_status:
            body["operation_status"] = op_status
        if detail and finished and self.result is not None:
            body["result"] = copy.deepcopy(self.result)
        body.update(
            created_at=format_ms(self.created_ms), updated_at=format_ms(updated),
            request_id=self.request_id, progress=progress,
        )
        if detail and finished:
            body["processing_time"] = self.duration_ms
        body["object"] = "async_action"
        if not detail:
            return body
        if self.user is not None:
            body["user"] = copy.deepcopy(self.user)
        if self.log_id is not None:
            body["log_id"] = self.log_id
        return body


@dataclass
class VerbatimAction:
    """An exact object inserted through the control API and served back unchanged."""

    body: dict

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def created_ms(self) -> int:
        return parse_timestamp(self.body.get("created_at")) or 0

    def render(self, now_ms: int, detail: bool = True) -> dict:
        body = copy.deepcopy(self.body)
        return body if detail else list_item(body)


def list_item(detail: dict) -> dict:
    """The list endpoint's view of an action: never its result, user or audit-log entry.

    `processing_time` is left out too, as in the documented list example.
    """
    return {key: value for key, value in detail.items() if key not in LIST_HIDDEN}
