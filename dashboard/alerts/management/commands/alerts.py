"""`python manage.py alerts add|list|remove`: alert subscriptions as configuration as code."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboard.alerts import rules
from dashboard.alerts.models import Subscription
from dashboard.alerts.subscriptions import InvalidSubscription, create

BAD_OPTIONS = 2  # the exit status of a rule that cannot be stored


class Command(BaseCommand):
    help = "Add, list and remove alert subscriptions (e-mail, webhook or apprise)."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        add = commands.add_parser("add", help="subscribe a recipient to a rule")
        add.add_argument("--rule", required=True, help=", ".join(rules.RULES))
        where = add.add_mutually_exclusive_group(required=True)
        where.add_argument("--email", help="send e-mails to this address")
        where.add_argument("--webhook", help="POST JSON to this http(s) URL")
        where.add_argument("--apprise", help="notify through this apprise URL (Slack, Teams...)")
        add.add_argument("--type", dest="action_type", help="only this type, e.g. "
                                                            "CUSTOMERS.IMPORT_CSV")
        add.add_argument("--context", help="only this context, e.g. CUSTOMERS")
        add.add_argument("--audience", default=rules.OPERATOR, help=(
            f"whose view the alert carries: {', '.join(rules.AUDIENCES)} (default operator: "
            "failed-row counts without rows; purge needs auditor or admin)"))
        add.add_argument("--min-failed", type=int, help="failed-rows: at least N rows")
        add.add_argument("--min-failed-percent", type=float, help="failed-rows: at least X %%")
        add.add_argument("--stuck-factor", type=float, help="stuck: k × the type's p95 (3)")
        add.add_argument("--stuck-minutes", type=float, help="stuck: at least M minutes (30)")
        add.add_argument("--share-percent", type=float, help="failure-share: more than X %%")
        add.add_argument("--hours", dest="share_hours", type=float,
                         help="failure-share: over the last H hours (24)")
        commands.add_parser("list", help="list every subscription")
        remove = commands.add_parser("remove", help="remove a subscription")
        remove.add_argument("id", type=int)

    def handle(self, *args, command: str, **options) -> None:
        getattr(self, f"_{command}")(**options)

    def _add(self, **options) -> None:
        channel = next(name for name in ("email", "webhook", "apprise") if options.get(name))
        try:
            subscription = create(options, channel=channel, target=options[channel],
                                  created_by="manage.py alerts")
        except InvalidSubscription as exc:
            # One sentence: the first problem (the next one shows once that is fixed).
            raise CommandError(exc.errors[0][1], returncode=BAD_OPTIONS) from None
        self.stdout.write(f"Added {subscription}.")

    def _list(self, **options) -> None:
        subscriptions = Subscription.objects.select_related("owner")
        if not subscriptions:
            self.stdout.write("No alert subscriptions.")
        for s in subscriptions:
            owner = f" (owner {s.owner.get_username()})" if s.owner else ""
            self.stdout.write(f"{s.id}\t{s.rule}\t{s.narrowing}\t{_thresholds(s)}\t{s.channel}"
                              f"\t{s.recipient}\t{s.audience}{owner}")

    def _remove(self, *, id: int, **options) -> None:  # noqa: A002
        deleted, _ = Subscription.objects.filter(pk=id).delete()
        if not deleted:
            raise CommandError(f"There is no subscription {id}; `alerts list` shows them.",
                               returncode=BAD_OPTIONS)
        self.stdout.write(f"Removed subscription {id}; its sent alerts stay in the history.")


def _thresholds(s: Subscription) -> str:
    if s.rule == rules.FAILED_ROWS:
        parts = [f"≥{s.min_failed} rows" if s.min_failed is not None else "",
                 f"≥{s.min_failed_percent:g} %" if s.min_failed_percent is not None else ""]
        return " or ".join(part for part in parts if part)
    if s.rule == rules.STUCK:
        return f"max({s.stuck_factor:g} × p95, {s.stuck_minutes:g} min)"
    if s.rule == rules.FAILURE_SHARE:
        return f">{s.share_percent:g} % in {s.share_hours:g} h"
    return "-"
