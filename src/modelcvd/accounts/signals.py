"""Sign-ins and failed sign-ins go on the audit chain. Django's auth framework announces them
only by signal; the receivers hand them to accounts.services at once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from modelcvd.accounts.services import sign_in_audit, sign_in_failed_audit


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    sign_in_audit(user=user)


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    sign_in_failed_audit(username=str(credentials.get("username", "")))
