"""Prometheus metrics: upstream calls, requests per view, polls, and shared state at scrape.

Per-process counters and histograms use prometheus-client's multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py sets it for its workers). Values that
live in the shared cache (active viewers, the polling budget) are read when scraped, so
every replica reports the same truth.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from dashboard.observability import viewers
from dashboard.polling import budget, stats

logger = logging.getLogger(__name__)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

UPSTREAM_CALLS = Counter(
    "dashboard_upstream_calls",
    "HTTP exchanges with Voucherify, by endpoint template and status (0: no answer).",
    ["method", "endpoint", "status"],
)
UPSTREAM_SECONDS = Histogram(
    "dashboard_upstream_call_seconds",
    "Time taken by each HTTP exchange with Voucherify.",
    ["endpoint"],
)
REQUESTS = Counter(
    "dashboard_requests", "Requests answered, by view and status.", ["view", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "dashboard_request_seconds",
    "Time from the request reaching Django to the response leaving it, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POLL_REQUESTS = Counter(
    "dashboard_poll_requests", "htmx requests (HX-Request: true), by view.", ["view"]
)


def observe_upstream(method: str, endpoint: str, status: int, elapsed: float) -> None:
    UPSTREAM_CALLS.labels(method, endpoint, str(status)).inc()
    if elapsed > 0:  # urllib3's retried attempts are reported with no time of their own
        UPSTREAM_SECONDS.labels(endpoint).observe(elapsed)


def observe_request(view: str, method: str, status: int, elapsed: float, *, poll: bool) -> None:
    REQUESTS.labels(view, method if method in _METHODS else "other", str(status)).inc()
    REQUEST_SECONDS.labels(view).observe(elapsed)
    if poll:
        POLL_REQUESTS.labels(view).inc()


class SharedStateCollector(Collector):
    """Gauges read from the shared cache at scrape time; skipped when the cache is down."""

    def __init__(self, readers: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self.readers = readers

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, read) in self.readers.items():
            try:
                value = read()
            except Exception:
                logger.warning("Metric %s could not be read from the cache.", name, exc_info=True)
                continue
            yield GaugeMetricFamily(name, documentation, value=float(value))


def _budget_left() -> float:
    return budget.tokens_left()


def _lookups(index: int) -> Callable[[], float]:
    def read() -> float:
        return stats.lookups_last_minute()[index]

    return read


SHARED = CollectorRegistry(auto_describe=False)
SHARED.register(
    SharedStateCollector(
        {
            "dashboard_active_viewers": (
                "Distinct logged-in sessions seen in the last minute, across replicas.",
                viewers.active,
            ),
            "dashboard_upstream_budget_left": (
                "Upstream calls the shared polling budget still allows in the sliding minute.",
                _budget_left,
            ),
            "dashboard_cache_hits_last_minute": (
                "Reads served from the shared cache in the last minute, across replicas.",
                _lookups(0),
            ),
            "dashboard_cache_misses_last_minute": (
                "Reads that needed an upstream call in the last minute, across replicas.",
                _lookups(1),
            ),
        }
    )
)


def exposition() -> bytes:
    """Everything, in Prometheus text format: all workers' counters, then the shared gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(SHARED)


def authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), token.encode()
    )


@login_not_required
@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics for a scraper holding METRICS_TOKEN; absent (404) when no token is set."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on.")
    if not authorized(request, token):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
