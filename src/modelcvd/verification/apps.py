from datetime import timedelta

from django.apps import AppConfig
from django.utils import timezone

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

        scrape_gauge_register(
            "modelcvd_verification_trials_per_second",
            "Verification trials stored per second over the last minute (all workers).",
            trials_per_second,
        )
