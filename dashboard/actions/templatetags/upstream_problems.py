"""`problem|problem_info`: what an upstream failure means for the person reading the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template

from dashboard.voucherify import errors

register = template.Library()


@dataclass(frozen=True)
class ProblemInfo:
    kind: str  # a CSS-friendly name of the failure state
    sentence: str  # what happened
    advice: str  # what to check or what happens next
    upstream_message: str | None  # the error's own words, when they add something
    request_id: str | None
    retry_at: datetime | None = None
    # True when upstream_message came in an HTTP error answer; a dropped connection, an
    # unreadable body or the dashboard's own budget are the dashboard's words, not Voucherify's.
    said_by_upstream: bool = False


_SENTENCES: tuple[tuple[type[errors.VoucherifyError], str, str, str], ...] = (
    # Before RateLimitedError, its base: no call was made, the dashboard held it back.
    (errors.BudgetExhaustedError, "held-back",
     "The dashboard is holding back its calls to Voucherify for the moment.",
     "Its calls count against the project's own API limit, so it makes only "
     "VOUCHERIFY_CALLS_PER_MINUTE a minute and waits whenever Voucherify asks it to."),
    (errors.AuthenticationError, "credentials",
     "Voucherify rejected the dashboard's credentials, so no actions can be read.",
     "Check VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN (the project's server-side keys, or "
     "VOUCHERIFY_BEARER_TOKEN), and that VOUCHERIFY_CLUSTER or VOUCHERIFY_API_URL points at "
     "the cluster the project lives on."),
    (errors.RateLimitedError, "rate-limited",
     "Voucherify's request limit for this project is reached.",
     "Every call counts against the same limit as the project's own integration, so the "
     "dashboard waits before asking again."),
    (errors.PlanLimitError, "plan-limit",
     "Voucherify says the project's plan limits are exceeded.",
     "Check the plan and its usage in Voucherify's dashboard."),
    (errors.UnavailableError, "unavailable",
     "Voucherify could not be reached or did not answer in time.",
     "This is usually temporary; check the network and VOUCHERIFY_API_URL if it lasts."),
    (errors.UpstreamError, "upstream-error",
     "Voucherify had an internal error.",
     "This is usually temporary; the page will work again once Voucherify recovers."),
    (errors.InvalidResponseError, "invalid-response",
     "Voucherify sent a response the dashboard cannot read.",
     "Try again; if it keeps happening, report it with the request id below."),
    (errors.InvalidActionIdError, "invalid-id",
     "That is not an async action id.",
     "Action ids look like aa_0c5543f00797b6113f."),
    (errors.NotFoundError, "not-found",
     "Voucherify has no such async action.",
     "It may belong to another project, or the id may be mistyped."),
    (errors.BadRequestError, "bad-request",
     "Voucherify refused the request as invalid.",
     "This is a fault in the dashboard; report it with the request id below."),
)


@register.filter
def problem_info(problem: errors.VoucherifyError | None) -> ProblemInfo | None:
    if problem is None:
        return None
    kind, sentence, advice = "error", "Voucherify returned an error.", "Try again later."
    for cls, kind_name, text, hint in _SENTENCES:
        if isinstance(problem, cls):
            kind, sentence, advice = kind_name, text, hint
            break
    if problem.status and kind in ("upstream-error", "bad-request", "invalid-response"):
        sentence = f"{sentence[:-1]} (HTTP {problem.status})."
    upstream_message = problem.message
    if problem.details and problem.details not in upstream_message:
        upstream_message = f"{upstream_message.rstrip('.')}: {problem.details}"
    said_already = (sentence, type(problem).default_message)
    if upstream_message.rstrip(".") in [text.rstrip(".") for text in said_already]:
        upstream_message = None
    return ProblemInfo(
        kind=kind,
        sentence=sentence,
        advice=advice,
        upstream_message=upstream_message,
        request_id=problem.request_id,
        retry_at=getattr(problem, "retry_at", None),
        said_by_upstream=problem.status is not None and problem.status >= 400,
    )
