"""A system check: the second factor is decided by one middleware, so it must be installed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"
SECOND_FACTOR_MIDDLEWARE = "modelcvd.accounts.middleware.SecondFactorMiddleware"


def second_factor_middleware_installed(**kwargs: Any) -> list[checks.CheckMessage]:
    """Without SecondFactorMiddleware after OTPMiddleware, a session that gave only the
    password would count as signed in everywhere."""
    middleware = list(settings.MIDDLEWARE)
    if (
        OTP_MIDDLEWARE in middleware
        and SECOND_FACTOR_MIDDLEWARE in middleware
        and middleware.index(OTP_MIDDLEWARE) < middleware.index(SECOND_FACTOR_MIDDLEWARE)
    ):
        return []
    return [
        checks.Error(
            f"{SECOND_FACTOR_MIDDLEWARE} must be in MIDDLEWARE, after {OTP_MIDDLEWARE}",
            id="modelcvd.E001",
        )
    ]
