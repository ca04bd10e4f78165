"""Everything the dashboard needs from Voucherify; nothing else imports `requests`."""

from .client import VoucherifyClient, build_session
from .config import ConfigurationError, VoucherifyConfig
from .cursor import Cursor, is_valid_action_id
from .errors import (
    AuthenticationError,
    BadRequestError,
    InvalidActionIdError,
    InvalidResponseError,
    NotFoundError,
    PlanLimitError,
    RateLimitedError,
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
    "ConfigurationError",
    "Cursor",
    "FailedRow",
    "InvalidActionIdError",
    "InvalidResponseError",
    "NotFoundError",
    "PlanLimitError",
    "RateLimitState",
    "RateLimitedError",
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
