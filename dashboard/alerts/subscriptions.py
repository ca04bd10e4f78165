"""Creating and listing subscriptions, with the same checks for the pages and the CLI."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import QuerySet

from . import rules
from .models import Subscription

TARGET_FIELD = {Subscription.EMAIL: "email", Subscription.WEBHOOK: "webhook",
                Subscription.APPRISE: "apprise"}
RULE_FIELDS = ("min_failed", "min_failed_percent", "stuck_factor", "stuck_minutes",
               "share_percent", "share_hours")


class InvalidSubscription(ValueError):
    """`errors`: (field, one sentence) each."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in errors))
        self.errors = errors


def target_problem(channel: str, target: str) -> str | None:
    if channel == Subscription.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            return f"{target[:80]!r} is not an e-mail address."
    elif channel == Subscription.WEBHOOK:
        try:
            URLValidator(schemes=["http", "https"])(target)
        except ValidationError:
            return f"{target[:80]!r} is not an http(s) URL."
    elif channel == Subscription.APPRISE:
        if "://" not in target or any(ch.isspace() for ch in target):
            return "An apprise URL looks like slack://TokenA/TokenB/TokenC or mailto://..."
    else:
        return f"There is no channel {channel[:20]!r}."
    return None


def create(options: Mapping[str, object], *, channel: str, target: str, owner=None,
           created_by: str = "") -> Subscription:
    """A stored subscription, or InvalidSubscription listing every problem."""
    errors = rules.problems(options)
    problem = target_problem(channel, target)
    if problem:
        errors.append((TARGET_FIELD.get(channel, "channel"), problem))
    if errors:
        raise InvalidSubscription(errors)
    given = {name: options[name] for name in RULE_FIELDS if options.get(name) is not None}
    return Subscription.objects.create(
        rule=options["rule"], action_type=options.get("action_type") or "",
        context=options.get("context") or "", channel=channel, target=target,
        audience=options["audience"], owner=owner, created_by=created_by, **given,
    )


def visible_to(user, audience: str | None) -> QuerySet[Subscription]:
    """Admins manage everyone's; others see their own."""
    everything = Subscription.objects.select_related("owner")
    return everything if audience == rules.ADMIN else everything.filter(owner=user)
