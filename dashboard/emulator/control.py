"""A client for the emulator's control API (stdlib urllib), for tests and benchmarks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class ControlError(RuntimeError):
    """The control API refused a request; the message carries its status and details."""


class EmulatorControl:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def stats(self) -> dict:
        """{"total": N, "requests": [{method, endpoint, status, count}], "timeline": [...]}"""
        return self._call("GET", "/_emulator/stats")

    def count(self, method: str | None = None, endpoint: str | None = None,
              status: int | None = None) -> int:
        """Requests the emulator saw on /v1 routes matching every given criterion."""
        return sum(
            row["count"]
            for row in self.stats()["requests"]
            if (method is None or row["method"] == method)
            and (endpoint is None or row["endpoint"] == endpoint)
            and (status is None or row["status"] == status)
        )

    def clear_stats(self) -> dict:
        return self._call("DELETE", "/_emulator/stats")

    def reset(self, **config: float) -> dict:
        """Seeded state again; optional `live_every`, `rate_limit`, `token_ttl`."""
        return self._call("POST", "/_emulator/reset", config)

    def configure(self, **config: float) -> dict:
        return self._call("POST", "/_emulator/config", config)

    def create_action(self, type: str, outcome: str = "DONE", duration: float = 5,  # noqa: A002
                      result: dict | None = None, **extra: object) -> dict:
        """A live action starting now; `extra`: user, log_id, request_id."""
        payload: dict = {"type": type, "outcome": outcome, "duration": duration, **extra}
        if result is not None:
            payload["result"] = result
        return self._call("POST", "/_emulator/actions", payload)

    def insert_action(self, obj: dict) -> dict:
        """Store an exact action object, served back unchanged by GET /v1/async-actions/{id}."""
        return self._call("POST", "/_emulator/actions", {"action": obj})

    def purge_metadata_key(self, related_object: str, key: str, duration: float = 5) -> dict:
        """Purge a key as Voucherify's dashboard would; answers with the created action."""
        return self._call("POST", "/_emulator/metadata-schemas/purge",
                          {"related_object": related_object, "key": key, "duration": duration})

    def schema_history(self) -> list[dict]:
        """Every metadata key's life: defined, deleted and gone times, the purging action."""
        return self._call("GET", "/_emulator/metadata-schemas/history")

    def set_faults(self, **faults: object) -> dict:
        return self._call("POST", "/_emulator/faults", faults)

    def clear_faults(self) -> dict:
        return self._call("DELETE", "/_emulator/faults")

    def revoke_tokens(self) -> dict:
        return self._call("POST", "/_emulator/tokens/revoke")

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ControlError(f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}") from None
