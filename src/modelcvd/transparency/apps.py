from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    name = "modelcvd.transparency"
    label = "transparency"
    verbose_name = "Transparency log"
