from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CoreConfig(AppConfig):
    name = "modelcvd.core"
    label = "core"
    verbose_name = "Core: sealing and audit"

    def ready(self) -> None:
        from modelcvd.core.checks import embedded_only_settings
        from modelcvd.core.observability import connect_celery_signals

        connect_celery_signals()

        if settings.PRODUCTION:
            problems = embedded_only_settings()
            if problems:
                raise ImproperlyConfigured(
                    "production mode refuses to start: " + "; ".join(problems)
                )
