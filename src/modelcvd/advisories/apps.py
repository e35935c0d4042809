from django.apps import AppConfig


class AdvisoriesConfig(AppConfig):
    name = "modelcvd.advisories"
    label = "advisories"
    verbose_name = "Advisories"
