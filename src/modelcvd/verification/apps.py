from datetime import timedelta

from django.apps import AppConfig
from django.db import transaction
from django.utils import timezone

from modelcvd.core.announcements import ARTIFACT_VERSION, REPORT_PAYLOAD, listener_register
from modelcvd.core.observability import scrape_gauge_register


class VerificationConfig(AppConfig):
    name = "modelcvd.verification"
    label = "verification"
    verbose_name = "Verification runs"

    def ready(self) -> None:
        trial = self.get_model("VerificationTrial")

        def trials_per_second() -> float:
            since = timezone.now() - timedelta(seconds=60)
            return trial._default_manager.filter(created_at__gte=since).count() / 60

        # Reproduce before triage and the regression watch (services.watch): the lower apps
        # announce, the work is queued once their transaction commits.
        from modelcvd.verification import tasks
        from modelcvd.verification.services import watch
        from modelcvd.verification.services.execution import run_finished_listen

        listener_register(
            REPORT_PAYLOAD,
            "verification.intake",
            lambda report_id: transaction.on_commit(
                lambda: tasks.verify_on_intake.delay(report_id)
            ),
        )
        listener_register(
            ARTIFACT_VERSION,
            "verification.regression",
            lambda artifact_id: transaction.on_commit(
                lambda: tasks.watch_new_version.delay(artifact_id)
            ),
        )
        run_finished_listen("verification.watch", watch.run_finished)

        scrape_gauge_register(
            "modelcvd_verification_trials_per_second",
            "Verification trials stored per second over the last minute (all workers).",
            trials_per_second,
        )
