from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "modelcvd.credits"
    label = "credits"
    verbose_name = "Credits and bounties"
