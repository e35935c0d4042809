"""E-mail to people, for any app that tells them something (cases.mail composes the case mails).
Plain text only: report text is hostile, and plain text cannot carry script or markup into a
mail client."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


def mail_send(*, recipients: Iterable[str], subject: str, body: str) -> int:
    """Send the plain-text mail from the platform's address, one message per recipient: no
    recipient learns another's address (a reporter's pseudonym stays unlinked to a real one).
    Returns the number of messages sent (0 when there is nobody to send it to)."""
    addresses = sorted(set(recipients))
    if not addresses:
        return 0
    messages = [
        EmailMultiAlternatives(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[a]
        )
        for a in addresses
    ]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
