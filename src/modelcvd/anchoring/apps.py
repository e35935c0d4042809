from django.apps import AppConfig


class AnchoringConfig(AppConfig):
    name = "modelcvd.anchoring"
    label = "anchoring"
    verbose_name = "Audit chain anchoring"
