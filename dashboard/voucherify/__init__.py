"""Everything the dashboard needs from Voucherify; nothing else imports `requests`."""

from .client import VoucherifyClient, build_session
from .config import ConfigurationError, VoucherifyConfig
from .cursor import Cursor, is_valid_action_id
from .errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExhaustedError,
    InvalidActionIdError,
    InvalidResponseError,
    NotFoundError,
    PlanLimitError,
    RateLimitedError,
    RetryLaterError,
    UnavailableError,
    UpstreamError,
    VoucherifyError,
    error_from_response,
)
from .models import Action, ActionPage, ActionResult, FailedRow, RateLimitState, ResultError

__all__ = [
    "Action",
    "ActionPage",
    "ActionResult",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExhaustedError",
    "ConfigurationError",
    "Cursor",
    "FailedRow",
    "InvalidActionIdError",
    "InvalidResponseError",
    "NotFoundError",
    "PlanLimitError",
    "RateLimitState",
    "RateLimitedError",
    "RetryLaterError",
    "ResultError",
    "UnavailableError",
    "UpstreamError",
    "VoucherifyClient",
    "VoucherifyConfig",
    "VoucherifyError",
    "build_session",
    "error_from_response",
    "is_valid_action_id",
]
