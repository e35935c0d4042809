from django.apps import AppConfig

from modelcvd.core.projections import projection_register

# The name under which the metrics' facts are registered in core.projections.
PROJECTION = "metrics.case_facts"


class MetricsConfig(AppConfig):
    name = "modelcvd.metrics"
    label = "metrics"
    verbose_name = "Response metrics"

    def ready(self) -> None:
        # The services of cases, reports, verification and policy refresh the facts through
        # core.projections: metrics reads those apps, so they cannot import it.
        from modelcvd.metrics.services import case_facts_refresh
        from modelcvd.metrics.tasks import program_facts_refresh_queue

        projection_register(
            PROJECTION, case_refresh=case_facts_refresh, program_rebuild=program_facts_refresh_queue
        )
