from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "modelcvd.assessments"
    label = "assessments"
    verbose_name = "Security assessments"
