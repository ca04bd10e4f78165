"""Sending one alert: e-mail through Django's mail settings, a JSON webhook, or apprise.

These are calls to the alert's receivers, not to Voucherify: they are not paid from the
upstream budget. Each raises DeliveryError with one sentence when the receiver refuses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMessage

from .messages import body

WEBHOOK_TIMEOUT = 10.0


class DeliveryError(Exception):
    """The receiver did not take the alert; str() says why, for the history page."""


def send_email(address: str, subject: str, payload: dict) -> None:
    message = EmailMessage(subject, body(payload), settings.ALERTS_FROM_EMAIL, [address])
    try:
        message.send(fail_silently=False)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        raise DeliveryError(f"The mail server refused or could not be reached: {exc}") from exc


def send_webhook(url: str, subject: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "voucherify-dashboard-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        with exc:
            raise DeliveryError(f"The webhook answered HTTP {exc.code}.") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"The webhook could not be reached: {reason}.") from None


def send_apprise(url: str, subject: str, payload: dict) -> None:
    import apprise  # imported when used: the web processes never need it

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("Apprise does not recognise this notification URL.")
    # TEXT: apprise escapes it for services that render HTML or Markdown; with no format
    # given it passes the body on as is, and upstream text would become markup there.
    if not notifier.notify(title=subject, body=body(payload),
                           body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError("Apprise could not deliver the notification (see the worker's log).")


SENDERS = {"email": send_email, "webhook": send_webhook, "apprise": send_apprise}
