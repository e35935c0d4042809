from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "modelcvd.metrics"
    label = "metrics"
    verbose_name = "Response metrics"
