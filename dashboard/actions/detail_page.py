"""Shaping one fetched Action into what the detail panel shows. No requests; a big result's
failed rows are read from the archive (dashboard/history/failed_items.py), a page at a time."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError

from dashboard.actions.detail_failures import FailureTable, failure_table
from dashboard.formatting import clip_text
from dashboard.history.failed_items import (
    ARCHIVE_DOWN,
    KEPT_APART,
    KEPT_IN_RESULT,
    StoredFailures,
    UnreadableFailures,
    kept_lengths,
)
from dashboard.history.failures import (
    FailurePage,
    Failures,
    FailureSet,
    page_of,
    parse_query,
)
from dashboard.history.rows_later import failures_for
from dashboard.polling.reads import Fetched
from dashboard.voucherify import catalog
from dashboard.voucherify.models import Action, ActionResult

logger = logging.getLogger(__name__)

RAW_LIST_LIMIT = 20  # items of any list shown in the raw JSON; the table pages the rest
RAW_TEXT_LIMIT = 2000
REASON_LIMIT = 200  # characters of a message or reason quoted in the outcome sentence
# What a viewer without the support role must not find in the raw JSON either.
FAILURE_LISTS = ("failed", "errors")
HIDDEN_RESULT_KEYS = {"failed": "failed rows", "errors": "failed rows", "reports": "reports"}
KNOWN_RESULT_KEYS = frozenset({
    "message", "done_count", "failed_count", "failed", "errors", "reports",
    "reports_available_till",
})
_MISSING = object()


@dataclass(frozen=True)
class ReportLink:
    url: str
    is_link: bool  # only https: links become <a>; anything else is shown as text


@dataclass(frozen=True)
class Reports:
    links: list[ReportLink]
    available_till: datetime | None
    expired: bool


@dataclass(frozen=True)
class Panel:
    """Everything the panel template shows about one action, worked out once."""

    action: Action
    fetched_at: datetime
    stale: bool
    problem: Any
    age_seconds: float
    label: str
    context_label: str
    endpoint: str | None
    message: str | None
    done_count: int | None
    failed_count: int | None
    success_share: float | None  # 0..100, None when nothing was counted
    elapsed_seconds: float | None
    eta_seconds: float | None
    outcome: str | None  # a plain sentence saying what failed, when something did
    reports: Reports | None
    failures: Failures
    failure_page: FailurePage | None  # None when the viewer may not see failed rows
    failure_table: FailureTable | None  # what the table shows of that page
    notes: list[str] = field(default_factory=list)  # about result shapes nobody documented
    raw_json: str = ""
    user_pairs: list[tuple[str, str]] | None = None  # `user` in its usual shape, as pairs
    user_text: str | None = None  # `user` in any other shape, as plain text

    @property
    def is_live(self) -> bool:
        return self.action.is_live

    @property
    def is_terminal(self) -> bool:
        return self.action.is_terminal

    @property
    def is_queued(self) -> bool:
        return self.action.status == catalog.ENQUEUED

    @property
    def has_failed(self) -> bool:
        return self.action.status == catalog.FAILED

    @property
    def has_failures(self) -> bool:
        return bool(self.failures) or bool(self.failed_count)


def build_panel(
    fetched: Fetched[Action], *, can_view_failures: bool, params: Mapping[str, str]
) -> Panel:
    """The panel for a fetched action; failed rows only for viewers allowed to see them."""
    action = fetched.value
    result = action.result if isinstance(action.result, ActionResult) else None
    failures = failures_for(action)
    done, failed = _counts(result, failures)
    label = catalog.label_of(action.type)
    elapsed, eta = time_left(action, fetched.fetched_at)
    page = None
    if can_view_failures and not failures.rows_withheld:
        try:
            page = page_of(failures, parse_query(params))
        except DatabaseError:  # the summary read, the page of rows not: said so, never a 500
            logger.exception("Reading a page of the failed rows of %s failed", action.id)
            failures = UnreadableFailures(action_id=action.id, noun=failures.noun,
                                          total=len(failures), unavailable=ARCHIVE_DOWN)
    return Panel(
        action=action,
        fetched_at=fetched.fetched_at,
        stale=fetched.stale,
        problem=fetched.problem,
        age_seconds=fetched.age_seconds,
        label=label,
        context_label=catalog.CONTEXT_LABELS.get(action.context, action.context),
        endpoint=catalog.endpoint_of(action.type),
        message=result.message if result else None,
        done_count=done,
        failed_count=failed,
        # A FAILED action's counts are what it did before it stopped, not a share of its rows.
        success_share=None if action.status == catalog.FAILED else success_share(done, failed),
        elapsed_seconds=elapsed,
        eta_seconds=eta,
        outcome=outcome_sentence(action, label, failures, failed, done,
                                 quote_rows=can_view_failures),
        reports=reports_of(result, fetched.fetched_at),
        failures=failures,
        failure_page=page,
        failure_table=failure_table(page) if page else None,
        notes=shape_notes(action) + _kept_notes(action, failures),
        raw_json=raw_json(action.raw, hide_failures=not can_view_failures),
        **user_view(action.user),
    )


def user_view(user: object) -> dict[str, object]:
    """Who started the action: an object of plain values (its shape in Voucherify's examples,
    `{"id": ..., "email": ...}`) as pairs; any other shape as text, never interpreted."""
    if user is None:
        return {}
    if isinstance(user, Mapping) and all(
        isinstance(value, str | int | float | bool) or value is None for value in user.values()
    ):
        return {"user_pairs": [(str(key), "" if value is None else str(value))
                               for key, value in user.items()]}
    text = user if isinstance(user, str) else json.dumps(user, ensure_ascii=False, default=str)
    return {"user_text": text}


def success_share(done: int | None, failed: int | None) -> float | None:
    """Percentage of counted rows that succeeded; None unless both counts are known."""
    if done is None or failed is None or done + failed <= 0:
        return None
    return round(100 * done / (done + failed), 1)


def time_left(action: Action, now: datetime) -> tuple[float | None, float | None]:
    """Seconds since the action was created and, while it runs, an estimate of those left.

    The estimate assumes the rest goes at the pace so far: elapsed * (100 - p) / p.
    """
    elapsed = max(0.0, (now - action.created_at).total_seconds())
    if not action.is_live:
        return elapsed, None
    progress = action.progress
    if action.status != catalog.IN_PROGRESS or progress is None or not elapsed:
        return elapsed, None
    if not 0 < progress < 100:
        return elapsed, None
    return elapsed, elapsed * (100 - progress) / progress


def outcome_sentence(
    action: Action, label: str, failures: Failures, failed: int | None, done: int | None,
    *, quote_rows: bool = True,
) -> str | None:
    """What failed, in words, for a FAILED action or a DONE one with failures.

    Without `quote_rows` (a viewer who may not see failed rows) no row's reason is quoted:
    reasons hold customers' data, such as their e-mail addresses."""
    what = label[0].lower() + label[1:] if label else "action"
    counted = _counted(failed, done, failures)
    if action.status == catalog.FAILED:
        reason = _first_reason(action, failures if quote_rows else FailureSet((), ()))
        reason = clip_text(reason, REASON_LIMIT) if reason else None
        sentence = f"This {what} failed"
        if reason:
            sentence += f": {reason.rstrip('.')}"
        elif not counted:
            sentence += ", and Voucherify gave no reason"
        return sentence + (f". {counted}" if counted else ".")
    if action.status == catalog.DONE and (failed or failures):
        return f"This {what} finished, but not everything succeeded. {counted}"
    if action.operation_status == catalog.FAILED:
        return f"Voucherify reports the operation of this {what} as FAILED."
    return None


def reports_of(result: ActionResult | None, now: datetime) -> Reports | None:
    if result is None or not (result.reports or result.reports_available_till):
        return None
    links = [ReportLink(url, is_link=url.lower().startswith("https://")) for url in result.reports]
    return Reports(
        links=links,
        available_till=result.reports_available_till,
        expired=result.reports_expired(now),
    )


def shape_notes(action: Action) -> list[str]:
    """Sentences about result shapes nobody documented, so nothing passes unseen."""
    raw = action.raw.get("result", _MISSING) if isinstance(action.raw, Mapping) else _MISSING
    if raw is _MISSING or raw is None or raw == {}:
        if action.is_terminal:
            return ["Voucherify sent no result for this action."]
        return ["The result appears when the action has finished."]
    if isinstance(raw, str):
        return ["Voucherify sent the result as plain text, shown as the message."]
    if isinstance(raw, list):
        return ["Voucherify sent the result as a list; its entries are shown as failures."]
    if not isinstance(raw, Mapping):
        return [f"Voucherify sent the result as a {type(raw).__name__}; see the raw JSON."]
    unknown = sorted(str(key) for key in raw if key not in KNOWN_RESULT_KEYS)
    if unknown:
        return [f"The result has fields the dashboard does not know: {', '.join(unknown)} "
                "(see the raw JSON)."]
    return []


def _kept_notes(action: Action, failures: Failures) -> list[str]:
    if kept_lengths(action.raw) is None or isinstance(failures, StoredFailures) \
            or failures.rows_withheld:
        return []
    return [f"Only the first {KEPT_IN_RESULT} failed rows and errors of this action can be read "
            "right now: the archive that holds the rest did not answer."]


def raw_json(raw: object, *, hide_failures: bool) -> str:
    """The action as received, pretty-printed, with long lists and texts cut for the page.

    A big result was archived with its first failed rows only; the lengths it had say how
    many more there are."""
    lengths = kept_lengths(raw) or {}
    if isinstance(raw, Mapping) and KEPT_APART in raw:
        raw = {key: value for key, value in raw.items() if key != KEPT_APART}
    shown = _trimmed(raw, hide_failures=hide_failures, in_result=False, lengths=lengths)
    return json.dumps(shown, indent=2, ensure_ascii=False, default=str)


def _trimmed(
    value: object, *, hide_failures: bool, in_result: bool,
    lengths: Mapping[str, int], length: int | None = None,
) -> object:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            key = _cut(key)
            full = lengths.get(key) if in_result and key in FAILURE_LISTS else None
            if hide_failures and in_result and key in HIDDEN_RESULT_KEYS and item:
                count = full or (len(item) if isinstance(item, list) else 1)
                out[key] = f"[{count} hidden: {HIDDEN_RESULT_KEYS[key]} need the support role]"
                continue
            out[key] = _trimmed(item, hide_failures=hide_failures,
                                in_result=(key == "result" and not in_result),
                                lengths=lengths if key == "result" else {}, length=full)
        return out
    if isinstance(value, list):
        total = length if length is not None else len(value)
        if hide_failures and in_result:
            return f"[{total} items hidden: failed rows need the support role]"
        items = [_trimmed(item, hide_failures=hide_failures, in_result=False, lengths={})
                 for item in value[:RAW_LIST_LIMIT]]
        if total > RAW_LIST_LIMIT:
            items.append(f"… {total - RAW_LIST_LIMIT} more (see the table or the CSV)")
        return items
    return _cut(value)


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > RAW_TEXT_LIMIT:
        return value[:RAW_TEXT_LIMIT] + f"… ({len(value) - RAW_TEXT_LIMIT} more characters)"
    return value


def _counts(result: ActionResult | None, failures: Failures) -> tuple[int | None, int | None]:
    if result is None:
        return None, (len(failures) or None)
    failed = result.failed_count
    if not failed and failures:  # a count of 0 beside listed failures says nothing
        failed = len(failures)
    return result.done_count, failed


def _counted(failed: int | None, done: int | None, failures: Failures) -> str:
    """"1 of 2 rows failed.", or for results that list errors (each error is what failed):
    "2 errors in 1,200 records." """
    if not failed:
        return ""
    if failures.noun != "errors":
        if done is not None:
            return f"{failed:,} of {failed + done:,} {failures.noun} failed."
        return f"{failed:,} {failures.noun} failed."
    listed = len(failures)
    errors = f"{failed:,} {failures.count_words(failed)}"
    if done is None:
        return f"{errors}."
    if listed in (0, failed):
        return f"{errors} in {failed + done:,} records."
    return (f"{failed:,} of {failed + done:,} records failed "
            f"({listed:,} {failures.count_words(listed)} listed).")


def _first_reason(action: Action, failures: Failures) -> str | None:
    result = action.result
    if isinstance(result, ActionResult) and result.message:
        return result.message
    groups = failures.top_groups().top
    if groups:
        reason, count = groups[0]
        return reason if count == len(failures) else f"{reason} (and other reasons)"
    return None
