"""The links mailed or handed to people: e-mail verification at sign-up, and invitations.

A verification link carries a token in the style of Django's password-reset tokens: an HMAC
over the account's state and a timestamp. It works once (following it activates the account,
which changes the hashed state) and expires after `PASSWORD_RESET_TIMEOUT`. An invitation is a
signed, timestamped note of the address and role an administrator invited; it names nobody
else's account and is used up once an account with that address exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.crypto import salted_hmac

FOLLOW_UP_PREFIX = "mcvf_"
INVITATION_SALT = "modelcvd.accounts.invitation"
INVITATION_MAX_AGE = 14 * 24 * 3600  # seconds an invitation stays valid


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "modelcvd.accounts.links.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        # is_active flips when the link is followed: the same token never works twice.
        return f"{user.pk}{user.password}{user.is_active}{user.email}{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()


@dataclass(frozen=True)
class Invitation:
    email: str
    role: str


def invitation_code(*, email: str, role: str) -> str:
    return signing.dumps({"e": email, "r": role}, salt=INVITATION_SALT, compress=True)


def invitation_read(code: str) -> Invitation | None:
    """The invitation the code stands for; None when forged, damaged or expired."""
    try:
        data = signing.loads(code, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), str):
        return None
    return Invitation(email=data["e"], role=str(data.get("r", "researcher")))


def follow_up_hashes(secret: str) -> list[str]:
    """The keyed hash of a follow-up secret under the instance secret and each fallback, so
    links survive a SECRET_KEY rotation done with SECRET_KEY_FALLBACKS."""
    return [
        salted_hmac("modelcvd.follow-up", secret, secret=key, algorithm="sha256").hexdigest()
        for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    ]
