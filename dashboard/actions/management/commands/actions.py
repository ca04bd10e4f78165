"""`manage.py actions list|show`: the dashboard's view of async actions, for a terminal."""

from __future__ import annotations

import argparse
import json
import logging
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.history.purge_cells import user_text
from dashboard.polling.gate import get_client
from dashboard.voucherify import Action, VoucherifyClient, VoucherifyError
from dashboard.voucherify.catalog import STATUS_KEYS
from dashboard.voucherify.dates import format_timestamp

# Upstream list calls one `list` may spend looking for matches: each is paid from the shared
# budget and the project's rate limit, which the customer's production integration shares.
MAX_LIST_CALLS = 10
FAILED_ROWS_SHOWN = 20
# The client logs each upstream failure; at a terminal the command's one line says it all.
QUIET_LOGGERS = ("dashboard.voucherify", "urllib3")


class Command(BaseCommand):
    help = "List recent Voucherify async actions or show one of them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{list,show}")
        listing = sub.add_parser("list", help="Newest actions first.")
        listing.add_argument("--limit", type=_limit, default=20, help="How many (1-100).")
        listing.add_argument(
            "--status", type=_status, help=f"Only this status: {', '.join(STATUS_KEYS)}."
        )
        listing.add_argument(
            "--type", dest="action_type", help="Only this type (VOUCHERS.IMPORT) or context."
        )
        show = sub.add_parser("show", help="One action with its result.")
        show.add_argument("action_id", metavar="ID")
        show.add_argument("--json", action="store_true", help="Print the raw JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_client()  # the dashboard's one gated client: every call is budgeted
        quiet = options["verbosity"] < 2
        with _quieted(QUIET_LOGGERS if quiet else ()):
            self._run(client, options)

    def _run(self, client: VoucherifyClient, options: dict[str, Any]) -> None:
        try:
            if options["subcommand"] == "list":
                self._list(client, options["limit"], options["status"], options["action_type"])
            else:
                self._show(client, options["action_id"], options["json"])
        except VoucherifyError as exc:
            raise CommandError(str(exc)) from None

    def _list(
        self, client: VoucherifyClient, limit: int, status: str | None, action_type: str | None
    ) -> None:
        wanted_status = status.strip().upper() if status else None
        wanted_type = action_type.strip().upper() if action_type else None
        filtered = bool(wanted_status or wanted_type)
        found: list[Action] = []
        pages = client.iter_pages(
            limit=100 if filtered else limit, max_calls=MAX_LIST_CALLS if filtered else 1
        )
        more = False
        for page in pages:
            for action in page.actions:
                if _matches(action, wanted_status, wanted_type):
                    found.append(action)
            more = page.has_more
            if len(found) >= limit:
                break
        found = found[:limit]
        self.stdout.write(_table(found))
        if not found:
            self.stdout.write("No async actions match." if filtered else "No async actions.")
        if more and filtered and len(found) < limit:
            self.stdout.write(
                f"Stopped after {MAX_LIST_CALLS} upstream calls; older matches may exist."
            )
        state = client.rate_limit
        if state and state.remaining is not None and state.limit is not None:
            self.stderr.write(f"Rate limit: {state.remaining} of {state.limit} calls left.")

    def _show(self, client: VoucherifyClient, action_id: str, as_json: bool) -> None:
        action = client.get_action(action_id.strip())
        if as_json:
            self.stdout.write(json.dumps(action.raw, indent=2, sort_keys=True, default=str))
            return
        self.stdout.write("\n".join(_describe(action)))


@contextmanager
def _quieted(names: tuple[str, ...]):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _status(value: str) -> str:
    # A typo would otherwise scan MAX_LIST_CALLS pages of the project's budget for nothing.
    status = value.strip().upper()
    if status not in STATUS_KEYS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(STATUS_KEYS)}")
    return status


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError("must be from 1 to 100")
    return number


def _matches(action: Action, status: str | None, action_type: str | None) -> bool:
    if status and action.status != status:
        return False
    return not action_type or action_type in (action.type.upper(), action.context)


def _table(actions: list[Action]) -> str:
    rows = [("ID", "TYPE", "STATUS", "PROGRESS", "CREATED (UTC)")]
    for a in actions:
        progress = f"{a.progress}%" if a.progress is not None else "-"
        rows.append((a.id, a.type or "?", a.status, progress, _when(a.created_at)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _when(moment: Any) -> str:
    return format_timestamp(moment) if moment else "-"


def _describe(action: Action) -> list[str]:
    lines = [
        f"ID:               {action.id}",
        f"Type:             {action.type or '?'} ({action.label})",
        f"Context:          {action.context}",
        f"Status:           {action.status}"
        + (f" (operation {action.operation_status})" if action.operation_status else ""),
        f"Progress:         {action.progress if action.progress is not None else '-'}%",
        f"Created:          {_when(action.created_at)}",
        f"Updated:          {_when(action.updated_at)}",
        "Processing time:  "
        + (f"{action.processing_time} ms" if action.processing_time is not None else "-"),
        f"Request id:       {action.request_id or '-'}",
    ]
    if action.log_id:
        lines.append(f"Audit log entry:  {action.log_id}")
    if action.user:
        lines.append(f"Started by:       {user_text(action.user) or action.user}")
    result = action.result
    if result is None:
        lines.append("Result:           none yet")
        return lines
    if result.message:
        lines.append(f"Result:           {result.message}")
    if result.done_count is not None or result.failed_count is not None:
        done, failed = _count(result.done_count), _count(result.failed_count)
        lines.append(f"Done / failed:    {done} / {failed}")
    for row in result.failed[:FAILED_ROWS_SHOWN]:
        where = ", ".join(
            part for part in (
                f"row {row.row}" if row.row is not None else "",
                f"code {row.code}" if row.code else "",
                f"source {row.source_id}" if row.source_id else "",
            ) if part
        )
        lines.append(f"  failed {where or '(unidentified)'}: {row.reason or '-'}")
    if len(result.failed) > FAILED_ROWS_SHOWN:
        lines.append(f"  ... and {len(result.failed) - FAILED_ROWS_SHOWN} more failed rows")
    for error in result.errors[:FAILED_ROWS_SHOWN]:
        lines.append(f"  error {error.key or ''} {error.source_id or ''}: "
                     f"{error.message or '-'} {error.details or ''}".rstrip())
    if result.reports:
        expiry = result.reports_available_till
        state = "expired" if result.reports_expired() else "available"
        lines.append(f"Reports ({state} till {_when(expiry)}):" if expiry else "Reports:")
        lines.extend(f"  {link}" for link in result.reports)
    return lines


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
