"""The control API under /_emulator/: loopback clients only, never counted in stats."""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING

from .responses import Response, error, json_response
from .schemas import purge_fields, purge_request

if TYPE_CHECKING:
    from .app import Emulator, Request

CONFIG_KEYS = ("rate_limit", "token_ttl", "live_every")
CREATE_KEYS = ("type", "outcome", "duration", "result", "user", "log_id", "request_id")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def handle_control(emulator: Emulator, request: Request) -> Response:
    if not is_loopback(request.client):
        return error(403, "The emulator's control API answers loopback clients only")
    route = (request.method, request.path)
    try:
        body = _json_body(request)
        if route == ("POST", "/_emulator/actions"):
            return _create(emulator, body)
        if route == ("POST", "/_emulator/metadata-schemas/purge"):
            return _purge(emulator, body)
        if route == ("GET", "/_emulator/metadata-schemas/history"):
            return json_response(200, emulator.schemas.history())
        if route == ("POST", "/_emulator/faults"):
            return json_response(200, emulator.faults.set(body))
        if route == ("DELETE", "/_emulator/faults"):
            emulator.faults.clear()
            return json_response(200, emulator.faults.snapshot())
        if route == ("GET", "/_emulator/faults"):
            return json_response(200, emulator.faults.snapshot())
        if route == ("GET", "/_emulator/stats"):
            return json_response(200, emulator.stats.snapshot())
        if route == ("DELETE", "/_emulator/stats"):
            emulator.stats.clear()
            return json_response(200, emulator.stats.snapshot())
        if route == ("POST", "/_emulator/reset"):
            return json_response(200, emulator.reset(**_config(body)))
        if route == ("POST", "/_emulator/config"):
            return json_response(200, emulator.configure(**_config(body)))
        if route == ("GET", "/_emulator/config"):
            return json_response(200, emulator.settings())
        if route == ("POST", "/_emulator/tokens/revoke"):
            emulator.auth.revoke_all()
            return json_response(200, {"revoked": True})
    except ValueError as exc:
        return error(400, str(exc))
    return error(404, f"No control route {request.method} {request.path}")


def _json_body(request: Request) -> dict:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise ValueError("The body must be JSON") from None
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object")
    return body


def _create(emulator: Emulator, body: dict) -> Response:
    if "action" in body:
        action = body["action"]
        if not isinstance(action, dict) or not isinstance(action.get("id"), str) or not action[
            "id"
        ]:
            raise ValueError("action must be an object with a non-empty string id")
        return json_response(201, emulator.store.insert_action(action))
    unknown = set(body) - set(CREATE_KEYS)
    if unknown:
        raise ValueError(f"Unknown fields {sorted(unknown)}; known: {', '.join(CREATE_KEYS)}")
    action_type = body.get("type")
    if not isinstance(action_type, str) or not action_type:
        raise ValueError("type must be a non-empty string")
    outcome = body.get("outcome", "DONE")
    if outcome not in ("DONE", "FAILED"):
        raise ValueError("outcome must be DONE or FAILED")
    duration = _duration(body)
    fields = {key: body[key] for key in ("result", "user", "log_id", "request_id") if key in body}
    for key in ("log_id", "request_id"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise ValueError(f"{key} must be a string")
    action = emulator.store.create_action(action_type, outcome, duration, **fields)
    return json_response(201, action)


def _duration(body: dict) -> float:
    duration = body.get("duration", 5)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
        raise ValueError("duration must be a non-negative number of seconds")
    return duration


def _purge(emulator: Emulator, body: dict) -> Response:
    """A key purge as Voucherify's dashboard starts it: the key marked deleted, a running
    `*.METADATA_KEY_PURGE` action, and the definition gone when that action finishes."""
    related, key = purge_request(body)
    duration = _duration(body)

    def create(purge_type: str) -> dict:
        return emulator.store.create_action(purge_type, "DONE", duration,
                                            **purge_fields(emulator.schemas.rng, related))

    action = emulator.schemas.start_purge(related, key, int(duration * 1000), create)
    return json_response(201, action)


def _config(body: dict) -> dict:
    unknown = set(body) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"Unknown settings {sorted(unknown)}; known: {', '.join(CONFIG_KEYS)}")
    config = {}
    for key, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a non-negative number")
        if key == "rate_limit" and (value < 1 or value != int(value)):
            raise ValueError("rate_limit must be a whole number of at least 1")
        config[key] = int(value) if key == "rate_limit" else value
    return config
