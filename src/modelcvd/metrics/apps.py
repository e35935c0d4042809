from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "modelcvd.metrics"
    label = "metrics"
    verbose_name = "Response metrics"

    def ready(self) -> None:
        from modelcvd.metrics import signals  # noqa: F401 - connects the receivers
