"""Responses and Voucherify's error body: code, key, message, details, request_id."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

JSON_TYPE = "application/json; charset=utf-8"
# status -> (key, message) for errors raised without a more precise description.
ERROR_KINDS = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    402: ("payment_required", "Payment required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Resource not found"),
    405: ("method_not_allowed", "Method not allowed"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


def request_id() -> str:
    """`v-0c54493e444b0f61a6`: like Voucherify's, `v-` and 18 hex digits."""
    return f"v-{secrets.token_hex(9)}"


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def error(status: int, details: str, *, key: str | None = None, message: str | None = None,
          headers: dict[str, str] | None = None, **extra: object) -> Response:
    default_key, default_message = ERROR_KINDS.get(status, ("error", "Error"))
    payload = {
        "code": status,
        "key": key or default_key,
        "message": message or default_message,
        "details": details,
        "request_id": request_id(),
        **extra,
    }
    return json_response(status, payload, headers)


def invalid_query(details: str) -> Response:
    return error(400, details, key="invalid_query_params", message="Invalid query params")


def empty(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status, b"", dict(headers or {}))
