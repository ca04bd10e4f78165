"""The alert rules, who may receive each, and the checks every way of creating one shares."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from dashboard.voucherify import catalog

FAILED, FAILED_ROWS, STUCK, PURGE, FAILURE_SHARE = (
    "failed", "failed-rows", "stuck", "purge", "failure-share",
)
RULES = {
    FAILED: "An action ended FAILED",
    FAILED_ROWS: "An action finished with failed rows (at least N, or at least X %)",
    STUCK: "An action is ENQUEUED or IN_PROGRESS for longer than max(k × p95 of its type, M min)",
    PURGE: "A metadata key purge ran",
    FAILURE_SHARE: "More than X % of a type's actions failed in the last H hours",
}
DEFAULT_STUCK_FACTOR = 3.0
DEFAULT_STUCK_MINUTES = 30.0
DEFAULT_SHARE_HOURS = 24.0

# Audiences: whose view of the data an alert carries. Least privilege first.
OPERATOR, SUPPORT, AUDITOR, ADMIN = "operator", "support", "auditor", "admin"
AUDIENCES = (OPERATOR, SUPPORT, AUDITOR, ADMIN)
# Purges name who started them: only auditors (and admins) see the purge audit.
RULE_AUDIENCES = {rule: AUDIENCES for rule in RULES} | {PURGE: (AUDITOR, ADMIN)}
# Failed rows hold customers' data: operators get the counts only.
SEES_ROWS = (SUPPORT, AUDITOR, ADMIN)


def stuck_limit_ms(stuck_factor: float, stuck_minutes: float, p95_ms: int | None) -> float:
    """How long an action may run before the `stuck` rule flags it."""
    return max(stuck_factor * (p95_ms or 0), stuck_minutes * 60_000)


def audience_of(user) -> str | None:
    """The audience a user's own alerts carry, from their role; None: no alerts at all."""
    if not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    for audience, permission in ((AUDITOR, "accounts.view_purge_audit"),
                                 (SUPPORT, "accounts.view_failed_rows"),
                                 (OPERATOR, "accounts.view_actions")):
        if user.has_perm(permission):
            return audience
    return None


def rules_for(audience: str | None) -> list[str]:
    return [rule for rule, allowed in RULE_AUDIENCES.items() if audience in allowed]


def problems(options: Mapping[str, object]) -> list[tuple[str, str]]:
    """Each unusable option as (field, one sentence); empty when the rule can be stored.

    `options`: rule, audience, action_type, context, min_failed, min_failed_percent,
    stuck_factor, stuck_minutes, share_percent, share_hours (None: not given).
    """
    found: list[tuple[str, str]] = []
    rule = options.get("rule")
    if rule not in RULES:
        return [("rule", f"There is no rule {str(rule)[:40]!r}; choose one of {', '.join(RULES)}.")]
    audience = options.get("audience")
    if audience not in AUDIENCES:
        found.append(("audience", f"The audience must be one of {', '.join(AUDIENCES)}."))
    elif audience not in RULE_AUDIENCES[rule]:
        found.append(("rule", f"{rule} alerts go to auditors and admins only: "
                                 "choose the audience auditor or admin."))
    context = options.get("context") or ""
    if context and context not in catalog.CONTEXT_KEYS:
        found.append(("context", f"There is no context {context[:40]!r}; choose one of "
                                 f"{', '.join(catalog.CONTEXT_KEYS)}."))
    action_type = options.get("action_type") or ""
    if action_type and (len(action_type) > 200 or not action_type.replace(".", "").replace(
            "_", "").isalnum()):
        found.append(("action_type", "A type looks like CUSTOMERS.IMPORT_CSV."))
    found += _rule_options(rule, options)
    return found


def _rule_options(rule: str, options: Mapping[str, object]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    given = {name for name in _OWN_OPTIONS if options.get(name) is not None}
    for name in sorted(given - _RULE_OPTIONS[rule]):
        found.append((name, f"{_LABELS[name]} does not apply to {rule} alerts."))
    for name in sorted(given & _RULE_OPTIONS[rule]):
        value = options[name]
        low, high = _BOUNDS[name]
        if not isinstance(value, int | float) or not low <= value <= high:
            found.append((name, f"{_LABELS[name]} must be a number from {low:g} to {high:g}."))
    if rule == FAILED_ROWS and not given & {"min_failed", "min_failed_percent"}:
        found.append(("min_failed", "A failed-rows alert needs a number of rows or a "
                                    "percentage (or both)."))
    if rule == FAILURE_SHARE and "share_percent" not in given:
        found.append(("share_percent", "A failure-share alert needs the percentage."))
    return found


_LABELS = {
    "min_failed": "The number of failed rows",
    "min_failed_percent": "The percentage of failed rows",
    "stuck_factor": "The factor of the p95 processing time",
    "stuck_minutes": "The minimum number of minutes",
    "share_percent": "The percentage of failed actions",
    "share_hours": "The number of hours",
}
_OWN_OPTIONS = tuple(_LABELS)
_BOUNDS = {
    "min_failed": (1, 10**9),
    "min_failed_percent": (0.01, 100),
    "stuck_factor": (1, 1000),
    "stuck_minutes": (0, 60 * 24 * 30),
    "share_percent": (0, 100),
    "share_hours": (0.1, 24 * 90),
}
_RULE_OPTIONS = {
    FAILED: set(),
    FAILED_ROWS: {"min_failed", "min_failed_percent"},
    STUCK: {"stuck_factor", "stuck_minutes"},
    PURGE: set(),
    FAILURE_SHARE: {"share_percent", "share_hours"},
}


def masked(url: str) -> str:
    """scheme://host/… : webhook and chat URLs carry their secret in the path or query."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "…"
    host = parts.hostname or ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{rest}"
