"""/healthz (the process answers) and /readyz (its dependencies answer), for probes.

Readiness never calls Voucherify: every probe would be paid from the customer's API
budget. It reads the auth outcome the client's last response left in the shared cache.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache, caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from dashboard.observability import credentials


@dataclass(frozen=True)
class Check:
    status: str  # "ok", "unknown" (not a failure), or "failing"
    detail: str

    @property
    def failing(self) -> bool:
        return self.status == "failing"


def check_database() -> Check:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        connection.close()  # the next probe reconnects instead of reusing a dead connection
        return Check("failing", f"The database did not answer ({type(exc).__name__}).")
    return Check("ok", f"{connection.vendor} answered.")


def check_cache() -> Check:
    # The shared cache itself, not the per-process memory that stands in while it is down.
    shared = getattr(cache, "primary", cache)
    key = "observability:readyz:" + uuid.uuid4().hex
    try:
        shared.set(key, 1, 10)
        answered = shared.get(key) == 1
        shared.delete(key)
    except Exception as exc:
        fallback = "" if shared is cache else " (each process serves from its own memory)"
        return Check("failing", f"The cache did not answer ({type(exc).__name__}){fallback}.")
    if not answered:
        return Check("failing", "The cache did not return what was just stored.")
    return Check("ok", f"{type(caches['default']).__name__} answered.")


def check_upstream_credentials() -> Check:
    try:
        outcome = credentials.last()
    except Exception as exc:
        return Check("unknown", f"The last auth outcome is in the cache, which failed "
                                f"({type(exc).__name__}).")
    if outcome.state == "unknown":
        return Check("unknown", "No call to Voucherify with these credentials since the cache "
                                "was emptied.")
    ago = f"{max(0, round(time.time() - (outcome.at or time.time())))} s ago"
    if outcome.state == "bad":
        return Check("failing", f"Voucherify rejected the credentials (HTTP {outcome.status}, "
                                f"{ago}); check VOUCHERIFY_APP_ID and VOUCHERIFY_APP_TOKEN.")
    return Check("ok", f"Voucherify accepted the credentials (HTTP {outcome.status}, {ago}).")


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "upstream_credentials": check_upstream_credentials,
}


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive; touches nothing else, so a database outage never restarts it."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, else 503 naming the failing ones."""
    results = {name: check() for name, check in CHECKS.items()}
    failing = [name for name, result in results.items() if result.failing]
    body = {
        "status": "unready" if failing else "ready",
        "failing": failing,
        "checks": {name: asdict(result) for name, result in results.items()},
    }
    return JsonResponse(body, status=503 if failing else 200)
