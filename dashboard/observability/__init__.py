"""Health and readiness probes, Prometheus metrics and JSON logs for production serving.

Kept import-light: settings.py imports `dburl` from here before Django is configured.
"""

from __future__ import annotations


def upstream_observer(method: str, endpoint: str, status: int, elapsed: float) -> None:
    """Told of every upstream exchange (registered with the polling gate by ObservabilityConfig):
    count the call, remember the auth outcome."""
    from dashboard.observability import credentials, metrics

    metrics.observe_upstream(method, endpoint, status, elapsed)
    credentials.record(status, endpoint)


__all__ = ["upstream_observer"]
