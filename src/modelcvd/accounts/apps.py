from django.apps import AppConfig
from django.core import checks


class AccountsConfig(AppConfig):
    name = "modelcvd.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from modelcvd.accounts import signals  # noqa: F401
        from modelcvd.accounts.checks import second_factor_middleware_installed

        checks.register(second_factor_middleware_installed, checks.Tags.security)
