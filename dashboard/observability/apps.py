from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "dashboard.observability"
    label = "observability"
    verbose_name = "Health, metrics and logs"

    def ready(self) -> None:
        from dashboard.observability import upstream_observer
        from dashboard.polling import gate

        gate.add_observer(upstream_observer)  # Prometheus + readiness see every exchange
