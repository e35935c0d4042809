"""TOTP second factor (django-otp): required for staff, honoured for anyone who enrolled.

A session is *verified* once a code from the user's confirmed device has been accepted in it
(django_otp's `login` stores the device in the session; its OTPMiddleware sets
`request.user.otp_device` and `is_verified()` on every request). Triagers and administrators
must have a verified session before any page or browser-session API call works; other users
may enrol, and once they have, they are asked for a code too.

Enrolment keeps the new secret in the session until a code proves the app holds it: no
half-made device sits in the database, and a second session (say, someone else holding the
password) cannot swap or learn the secret being enrolled.
"""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from typing import Any

from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from modelcvd.accounts.models import Membership, Role, User

# Enrolment and code checks are audited writes, in accounts.services; named here too because
# this module is where the second factor is described.
from modelcvd.accounts.services import totp_check, totp_device_confirm

__all__ = [
    "STAFF_ROLES",
    "totp_check",
    "totp_config_url",
    "totp_device_confirm",
    "totp_device_for",
    "totp_new_key",
    "totp_secret_text",
    "totp_wait_seconds",
    "two_factor_pending",
    "two_factor_required",
]

STAFF_ROLES = (Role.TRIAGER, Role.ADMIN)


def two_factor_required(user: Any) -> bool:
    """Staff roles must use a second factor."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(user_id=user.pk, role__in=STAFF_ROLES).exists()


def two_factor_pending(user: Any) -> bool:
    """A signed-in user who must still give a code (or enrol) before anything else works."""
    if not user.is_authenticated:
        return False
    # Without OTPMiddleware there is no `is_verified`: count that as unverified.
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return two_factor_required(user) or user_has_device(user)


def totp_device_for(user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if enrolled."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def totp_new_key() -> str:
    """A fresh secret for enrolment: 20 random bytes, hex, as django-otp stores them."""
    return random_hex(20)


def totp_secret_text(key: str) -> str:
    """The secret as people type it into an authenticator app: base32 in groups of four."""
    secret = b32encode(unhexlify(key)).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_config_url(*, user: User, key: str) -> str:
    """The otpauth:// URI for the key (what a QR code would carry)."""
    return str(TOTPDevice(user=user, key=key).config_url)


def totp_wait_seconds(device: TOTPDevice) -> int:
    """Seconds before the throttled device accepts another code; 0 when it would now."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, int((info["locked_until"] - timezone.now()).total_seconds()))
