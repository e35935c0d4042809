from django.apps import AppConfig

from modelcvd.core.status import status_count_register


class ReportsConfig(AppConfig):
    name = "modelcvd.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        report = self.get_model("Report")
        status_count_register("reports", lambda: report._default_manager.count())
