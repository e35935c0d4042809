"""The second factor: who owes one, and the TOTP and recovery-code arithmetic.

A user owes a second factor when they are staff (triager, administrator, superuser), belong
to an organisation that requires one (`Organisation.require_two_factor`), or enrolled an
authenticator of their own accord. A session is *verified* once a code from the user's
authenticator (or one of their recovery codes) has been accepted in it: django_otp's `login`
stores the device in the session, and its OTPMiddleware sets `request.user.is_verified()` on
every request.

Until then the session is anonymous everywhere (accounts.middleware.SecondFactorMiddleware):
`request.user` is AnonymousUser for every page and API operation, and the password-checked
user is reachable only by the sign-in pages that ask for the code (`session_user`).

Secrets: a confirmed authenticator's secret is sealed (accounts.models.TotpDevice); recovery
codes are kept as keyed hashes only. While a secret is being enrolled, the session holds a
random nonce, not the secret: the secret is derived from it with the instance secret
(SECRET_KEY, never in the database), so a copy of the session table cannot make codes either.
"""

from __future__ import annotations

import secrets
import time
from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.models import ThrottlingMixin
from django_otp.oath import TOTP

from modelcvd.accounts.models import Membership, RecoveryCodeSet, Role, TotpDevice, User

STAFF_ROLES = (Role.TRIAGER, Role.ADMIN)
# Where SecondFactorMiddleware keeps the user who gave a password but owes a code.
PENDING_USER_ATTR = "_modelcvd_second_factor_owed_by"

RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper is unambiguous.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 12  # 60 random bits
_RECOVERY_TYPOS = str.maketrans({"i": "1", "l": "1", "o": "0", "u": "v", "-": None, " ": None})


def two_factor_required(user: Any) -> bool:
    """Staff roles, and members of an organisation that requires it, must use a second factor."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return (
        Membership.objects.filter(user_id=user.pk)
        .filter(Q(role__in=STAFF_ROLES) | Q(organisation__require_two_factor=True))
        .exists()
    )


def totp_device_for(user: Any) -> TotpDevice | None:
    """The user's confirmed authenticator, if enrolled."""
    if not user.is_authenticated:
        return None
    return TotpDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def recovery_codes_for(user: Any) -> RecoveryCodeSet | None:
    if not user.is_authenticated:
        return None
    return RecoveryCodeSet.objects.filter(user_id=user.pk, confirmed=True).first()


def two_factor_pending(user: Any) -> bool:
    """A password-checked user who must still give a code (or enrol) before anything works."""
    if not user.is_authenticated:
        return False
    # Without OTPMiddleware there is no `is_verified`: count that as unverified.
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    if TotpDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
        return True
    return two_factor_required(user)


def session_user(request: HttpRequest) -> User | None:
    """The user this session has checked the password of, verified or not.

    Only the second-factor pages (enter a code, enrol) may ask: everywhere else a session that
    owes a code is anonymous, and `request.user` says so.
    """
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, User)
        return user
    pending = getattr(request, PENDING_USER_ATTR, None)
    return pending if isinstance(pending, User) else None


def second_factor_owed(request: HttpRequest) -> bool:
    """Whether this session has passed the password but still owes a code (or enrolment)."""
    return isinstance(getattr(request, PENDING_USER_ATTR, None), User)


def anonymous() -> AnonymousUser:
    return AnonymousUser()


# --- TOTP ---------------------------------------------------------------------------------


def totp_enrolment_nonce() -> str:
    """What the session keeps while a secret is being enrolled (the secret is derived)."""
    return secrets.token_urlsafe(24)


def totp_enrolment_key(*, user: User, nonce: str) -> bytes:
    """The 20-byte secret offered for enrolment: a keyed hash of the user and the nonce, so
    the session row holds nothing a reader of the database could make codes from."""
    return salted_hmac(
        "modelcvd.totp-enrolment", f"{user.pk}:{nonce}", algorithm="sha256"
    ).digest()[:20]


def totp_secret_text(key: bytes) -> str:
    """The secret as people type it into an authenticator app: base32 in groups of four."""
    secret = b32encode(key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_config_url(*, user: User, key: bytes) -> str:
    """The otpauth:// URI for the key (Key URI Format), what the QR code carries."""
    issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
    label = f"{issuer}:{user.get_username()}" if issuer else user.get_username()
    params = urlencode(
        {"secret": b32encode(key).decode(), "algorithm": "SHA1", "digits": 6, "period": 30}
    )
    if issuer:
        params += f"&issuer={quote(issuer)}"
    return f"otpauth://totp/{quote(label)}?{params}"


def totp_qr_svg(config_url: str) -> str:
    """The URI as an inline SVG QR code: no script, no style attribute, no external resource,
    so the page's Content-Security-Policy allows it as it stands."""
    code = segno.make(config_url, error="m")
    return str(
        code.svg_inline(
            scale=4,
            border=4,
            dark="#000",
            light="#fff",
            title="QR code of the setup link",
            svgclass="qr",
        )
    )


def totp_match(
    *, key: bytes, token: str, step: int, digits: int, drift: int, tolerance: int, after_t: int
) -> tuple[int, int] | None:
    """(time step, drift) of the code `token` if it is right now for `key`, within `tolerance`
    steps and later than step `after_t` (so no code is accepted twice); None otherwise."""
    if len(token) != digits or not token.isdigit():
        return None
    totp = TOTP(key, step, 0, digits, drift)
    totp.time = time.time()
    if not totp.verify(int(token), tolerance, after_t + 1):
        return None
    return totp.t(), totp.drift


def wait_seconds(device: ThrottlingMixin) -> int:
    """Seconds before the throttled device accepts another code; 0 when it would now."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, int((info["locked_until"] - timezone.now()).total_seconds()))


# --- recovery codes -----------------------------------------------------------------------


def recovery_code_new() -> str:
    """A fresh recovery code, as shown: `xxxx-xxxx-xxxx`."""
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def recovery_code_normalise(text: str) -> str | None:
    """The code as typed, without separators and with look-alike letters mapped; None when it
    cannot be a recovery code at all."""
    raw = text.strip().lower().translate(_RECOVERY_TYPOS)
    if len(raw) != _RECOVERY_LENGTH or any(c not in _RECOVERY_ALPHABET for c in raw):
        return None
    return raw


def recovery_code_hashes(normalised: str) -> list[str]:
    """The keyed hash of a code under the instance secret and each fallback secret, so the
    codes survive a SECRET_KEY rotation done with SECRET_KEY_FALLBACKS."""
    return [
        salted_hmac(
            "modelcvd.recovery-code", normalised, secret=secret, algorithm="sha256"
        ).hexdigest()
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    ]
