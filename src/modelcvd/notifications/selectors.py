"""Reads for notifications: who wants mail on a topic."""

from __future__ import annotations

from collections.abc import Iterable

from modelcvd.accounts.models import User
from modelcvd.notifications.models import MailPreference
from modelcvd.vocabulary import MailTopic


def mail_muted(*, user: User) -> list[str]:
    preference = MailPreference.objects.filter(user=user).first()
    return list(preference.muted) if preference else []


def mail_recipients(*, user_ids: Iterable[int], topic: MailTopic) -> list[str]:
    """The e-mail addresses of these users who have not turned `topic` off."""
    ids = set(user_ids)
    muted = {
        p.user_id for p in MailPreference.objects.filter(user_id__in=ids) if topic.value in p.muted
    }
    return sorted(
        email
        for email in User.objects.filter(pk__in=ids - muted, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
