"""The subscription form on /alerts/: a person's own e-mail alerts, or (admins) any channel."""

from __future__ import annotations

from django import forms

from dashboard.voucherify import catalog

from . import rules
from .models import Subscription
from .subscriptions import RULE_FIELDS, InvalidSubscription, create


class SubscriptionForm(forms.Form):
    rule = forms.ChoiceField(help_text="What to be told about.")
    action_type = forms.CharField(
        required=False, max_length=200, label="Only the type",
        help_text="For example CUSTOMERS.IMPORT_CSV; empty: every type.",
    )
    context = forms.ChoiceField(
        required=False, label="Only the context",
        choices=[("", "Every context")] + [(c.key, c.label) for c in catalog.CONTEXTS],
    )
    min_failed = forms.IntegerField(required=False, min_value=1,
                                    label="failed-rows: at least N failed rows")
    min_failed_percent = forms.FloatField(required=False, label="failed-rows: or at least X %")
    stuck_factor = forms.FloatField(required=False, label="stuck: k × the type's p95",
                                    help_text=f"Default {rules.DEFAULT_STUCK_FACTOR:g}.")
    stuck_minutes = forms.FloatField(required=False, label="stuck: and at least M minutes",
                                     help_text=f"Default {rules.DEFAULT_STUCK_MINUTES:g}.")
    share_percent = forms.FloatField(required=False, label="failure-share: more than X %")
    share_hours = forms.FloatField(required=False, label="failure-share: in the last H hours",
                                   help_text=f"Default {rules.DEFAULT_SHARE_HOURS:g}.")
    email = forms.EmailField(required=False, label="E-mail address")

    def __init__(self, *args, audience: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.audience = audience
        self.fields["rule"].choices = [(r, f"{r}: {rules.RULES[r]}") for r in rules.rules_for(
            audience)]

    def save(self, user) -> Subscription | None:
        """The new subscription, or None with the problems added to the form's errors."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        options = {name: data.get(name) for name in ("rule", "action_type", "context",
                                                     *RULE_FIELDS)}
        options["audience"] = self._audience()
        channel, target = self._recipient(user)
        try:
            return create(options, channel=channel, target=target, owner=self._owner(user),
                          created_by=user.get_username())
        except InvalidSubscription as exc:
            for field, message in exc.errors:
                self.add_error(field if field in self.fields else None, message)
            return None

    def _audience(self) -> str:
        return self.audience

    def _recipient(self, user) -> tuple[str, str]:
        return Subscription.EMAIL, self.cleaned_data.get("email") or user.email or ""

    def _owner(self, user):
        return user


class ManagedSubscriptionForm(SubscriptionForm):
    """Admins: webhooks, apprise URLs and other people's addresses, for a chosen audience."""

    channel = forms.ChoiceField(choices=Subscription.CHANNELS)
    target = forms.CharField(max_length=2000, label="Address or URL",
                             help_text="An e-mail address, a webhook URL or an apprise URL.")
    audience = forms.ChoiceField(
        choices=[(a, a) for a in rules.AUDIENCES], initial=rules.OPERATOR,
        help_text="Whose view the alerts carry: operators get failed-row counts, not rows; "
                  "purge alerts need auditor or admin.",
    )
    email = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [(r, f"{r}: {text}") for r, text in rules.RULES.items()]

    def _audience(self) -> str:
        return self.cleaned_data["audience"]

    def _recipient(self, user) -> tuple[str, str]:
        return self.cleaned_data["channel"], self.cleaned_data["target"].strip()

    def _owner(self, user):
        return None
