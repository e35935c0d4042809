"""E-mail to people, for any app that tells them something (cases.mail composes the case mails).
Plain text only: report text is hostile, and plain text cannot carry script or markup into a
mail client."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail


def mail_send(*, recipients: Iterable[str], subject: str, body: str) -> int:
    """Send one plain-text mail from the platform's address. Returns the number sent (0 when
    there is nobody to send it to)."""
    recipient_list = list(recipients)
    if not recipient_list:
        return 0
    return send_mail(
        subject=subject,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipient_list,
    )
