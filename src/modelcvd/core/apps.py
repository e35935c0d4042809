import logging

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("modelcvd.security")


class CoreConfig(AppConfig):
    name = "modelcvd.core"
    label = "core"
    verbose_name = "Core: sealing and audit"

    def ready(self) -> None:
        from modelcvd.core.checks import embedded_only_settings
        from modelcvd.core.egress import allow_list_problems
        from modelcvd.core.observability import connect_celery_signals

        connect_celery_signals()

        if problems := allow_list_problems(settings.EGRESS_ALLOW):
            # A mistyped entry would silently refuse the target it was meant to allow.
            raise ImproperlyConfigured("; ".join(problems))

        if settings.PRODUCTION:
            production_refuses_unsafe_settings(embedded_only_settings())


def production_refuses_unsafe_settings(problems: list[str]) -> None:
    """Refuse to start on any problem; say loudly that plain HTTP was allowed on purpose."""
    if problems:
        raise ImproperlyConfigured("production mode refuses to start: " + "; ".join(problems))
    if settings.ALLOW_INSECURE_HTTP:
        logger.warning(
            "MODELCVD_ALLOW_INSECURE_HTTP is set: production mode runs without requiring TLS; "
            "session cookies may travel in clear and no HSTS is sent"
        )
