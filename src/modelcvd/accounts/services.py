"""Writes on accounts: users, memberships, API tokens, the sealed researcher identity, the
second factor, and the audit events of signing in. Each writes its audit event."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from modelcvd.accounts.access import is_administrator
from modelcvd.accounts.links import (
    FOLLOW_UP_PREFIX,
    email_verification_tokens,
    follow_up_hashes,
    invitation_code,
)
from modelcvd.accounts.lockout import username_key
from modelcvd.accounts.models import (
    ORGANISATION_ROLES,
    ApiToken,
    FollowUpLink,
    Membership,
    Organisation,
    RecoveryCode,
    RecoveryCodeSet,
    ResearcherIdentity,
    Role,
    TokenScope,
    TotpDevice,
    User,
)
from modelcvd.accounts.twofactor import (
    RECOVERY_CODE_COUNT,
    recovery_code_hashes,
    recovery_code_new,
    recovery_code_normalise,
    totp_match,
)
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound, RateLimited
from modelcvd.core.sealing import create_sealed, seal
from modelcvd.core.services import sealed_open

TOKEN_PREFIX = "mcvd_"  # noqa: S105 - a public prefix, not a secret
IDENTITY_PURPOSE = "researcher.identity"
IDENTITY_FIELDS = ("legal_name", "email", "affiliation")
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_CODES_NAME = "recovery codes"
AUTHENTICATOR_PURPOSE = "accounts.totp_key"


def token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no guessable input to stretch.
    return hashlib.sha256(token.encode()).hexdigest()


def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    pseudonym: str = "",
    actor: User | None = None,
    is_active: bool = True,
) -> User:
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            email=email,
            password=password,
            pseudonym=pseudonym,
            is_active=is_active,
        )
        audit_record(actor=actor, action="user.create", obj=user)
    return user


def membership_grant(
    *, user: User, role: Role | str, organisation: Organisation | None, actor: User | None
) -> Membership:
    role = Role(role)
    if (role in ORGANISATION_ROLES) != (organisation is not None):
        need = "needs" if role in ORGANISATION_ROLES else "takes no"
        raise InvalidInput(
            [FieldError("organisation", f"the {role.value} role {need} organisation")]
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, role=role, organisation=organisation
        )
        if created:
            audit_record(
                actor=actor,
                action="membership.grant",
                obj=membership,
                data={
                    "user": user.pk,
                    "role": role.value,
                    "organisation": organisation.pk if organisation else None,
                },
            )
    return membership


def membership_revoke(*, membership: Membership, actor: User | None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="membership.revoke",
            obj=membership,
            data={"user": membership.user_id, "role": membership.role},
        )
        membership.delete()


def token_create(
    *,
    user: User,
    scopes: list[str],
    name: str = "",
    expires_in: timedelta | None = timedelta(days=90),
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token itself, which is never stored or shown again."""
    valid = {s.value for s in TokenScope}
    unknown = sorted(set(scopes) - valid)
    if not scopes or unknown:
        raise InvalidInput(
            [
                FieldError(
                    "scope", f"unknown or missing scope {unknown}; choose from {sorted(valid)}"
                )
            ]
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at: datetime | None = timezone.now() + expires_in if expires_in else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            token_hash=token_digest(secret),
            prefix=secret[:10],
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        audit_record(
            actor=actor or user, action="token.create", obj=token, data={"scopes": token.scopes}
        )
    return token, secret


def token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke a token: it never authenticates again. `actor` None: an operator (CLI). The
    caller has fetched the token through its access rule (`token_get_for`), or is the
    operator. Revoking a revoked token changes nothing: the first revocation stands."""
    with transaction.atomic():
        locked = (
            ApiToken.objects.select_for_update(of=("self",)).select_related("user").get(pk=token.pk)
        )
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="token.revoke",
                obj=locked,
                data={"prefix": locked.prefix, "user": locked.user.get_username()},
            )
    return locked


def identity_set(*, user: User, actor: User, values: dict[str, str]) -> ResearcherIdentity:
    """Replace the sealed identity. Only the researcher sets their own."""
    if actor.pk != user.pk:
        raise NotFound()
    unknown = sorted(set(values) - set(IDENTITY_FIELDS))
    if unknown:
        raise InvalidInput([FieldError(name, "unknown field") for name in unknown])
    if not values.get("legal_name", "").strip():
        raise InvalidInput([FieldError("legal_name", "required")])
    too_long = [name for name, value in values.items() if len(value) > 300]
    if too_long:
        raise InvalidInput([FieldError(name, "at most 300 characters") for name in too_long])
    plaintext = json.dumps({k: values.get(k, "") for k in IDENTITY_FIELDS}).encode()
    with transaction.atomic():
        old = ResearcherIdentity.objects.filter(user=user).first()
        if old is not None:
            old_blob = old.sealed
            old.sealed = seal(plaintext, purpose=IDENTITY_PURPOSE, owner=old, field="sealed")
            old.save(update_fields=["sealed", "updated_at"])
            old_blob.delete()
            identity = old
        else:
            identity = create_sealed(
                ResearcherIdentity,
                values={"user": user},
                field="sealed",
                plaintext=plaintext,
                purpose=IDENTITY_PURPOSE,
            )
        audit_record(actor=actor, action="identity.set", obj=identity)
    return identity


def organisation_two_factor_set(
    *, organisation: Organisation, required: bool, actor: User | None
) -> Organisation:
    """Require (or stop requiring) a second factor of every member of `organisation`.

    Takes effect at each member's next request: a session without the code becomes anonymous
    until they give it (or enrol)."""
    with transaction.atomic():
        changed = organisation.require_two_factor != required
        organisation.require_two_factor = required
        organisation.save(update_fields=["require_two_factor"])
        if changed:
            audit_record(
                actor=actor,
                action="organisation.two_factor",
                obj=organisation,
                data={"required": required},
            )
    return organisation


# The one place authenticator secrets are sealed and opened; the blob is bound to its device
# row (core.sealing), so a secret moved under another user's device does not open.
def _authenticator_device_create(*, key: bytes, values: dict[str, Any]) -> TotpDevice:
    return create_sealed(
        TotpDevice, values=values, field="sealed_key", plaintext=key, purpose=AUTHENTICATOR_PURPOSE
    )


def _authenticator_secret_open(device: TotpDevice) -> bytes:
    return sealed_open(
        blob=device.sealed_key, actor=device.user, reason="second-factor code check", subject=device
    )


def totp_device_confirm(*, user: User, key: bytes, token: str) -> TotpDevice | None:
    """Enrol the key once a code from it is right; None (and an audit event) when it is not.

    The key is sealed before it is stored; the code just used cannot be used again."""
    with transaction.atomic():
        match = totp_match(
            key=key, token=token, step=30, digits=6, drift=0, tolerance=1, after_t=-1
        )
        if match is None:
            audit_record(actor=user, action="auth.totp_failed", obj=user, data={"stage": "setup"})
            return None
        if TotpDevice.objects.filter(user_id=user.pk).exists():
            return None  # a second tab enrolled meanwhile: keep the first device
        last_t, drift = match
        try:
            with transaction.atomic():
                device = _authenticator_device_create(
                    key=key,
                    values={
                        "user": user,
                        "name": TOTP_DEVICE_NAME,
                        "confirmed": True,
                        "last_t": last_t,
                        "drift": drift,
                    },
                )
        except IntegrityError:  # the other tab won the race between the check and the insert
            return None
        audit_record(actor=user, action="auth.totp_device_confirmed", obj=device)
    return device


def totp_check(*, user: User, token: str) -> TotpDevice | None:
    """The user's authenticator if `token` is its code now; every check is audited.

    After a wrong code the device is throttled (django-otp's exponential back-off: refused
    outright while it lasts) and a code already accepted is refused. Opening the sealed
    secret is itself audited (seal.open)."""
    with transaction.atomic():
        device = (
            TotpDevice.objects.select_for_update()
            .select_related("sealed_key", "user")
            .filter(user_id=user.pk, confirmed=True)
            .first()
        )
        if device is None:
            return None
        allowed, _ = device.verify_is_allowed()
        match = None
        if allowed:
            match = totp_match(
                key=_authenticator_secret_open(device),
                token=token,
                step=device.step,
                digits=device.digits,
                drift=device.drift,
                tolerance=device.tolerance,
                after_t=device.last_t,
            )
        if match is None:
            if allowed:
                device.throttle_increment(commit=True)
            audit_record(
                actor=user, action="auth.totp_failed", obj=device, data={"stage": "sign_in"}
            )
            return None
        device.last_t, device.drift = match
        device.throttle_reset(commit=False)
        device.save(
            update_fields=[
                "last_t",
                "drift",
                "throttling_failure_timestamp",
                "throttling_failure_count",
            ]
        )
        audit_record(actor=user, action="auth.totp_verified", obj=device)
    return device


def recovery_codes_issue(*, user: User) -> list[str]:
    """New recovery codes for `user`, replacing any earlier ones; returned once, stored only
    as keyed hashes. Needs an enrolled authenticator (the codes stand in for it)."""
    if not TotpDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
        raise InvalidInput([FieldError("recovery_codes", "set up an authenticator app first")])
    codes = [recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        # The same device row stays, so a session verified by an earlier code stays verified.
        code_set, _ = RecoveryCodeSet.objects.select_for_update().get_or_create(
            user=user, defaults={"name": RECOVERY_CODES_NAME, "confirmed": True}
        )
        code_set.codes.all().delete()
        hashes = set()
        for code in codes:
            normalised = recovery_code_normalise(code)
            assert normalised is not None
            hashes.add(recovery_code_hashes(normalised)[0])
        RecoveryCode.objects.bulk_create(
            [RecoveryCode(code_set=code_set, code_hash=h) for h in sorted(hashes)]
        )
        code_set.throttle_reset(commit=True)
        audit_record(
            actor=user,
            action="auth.recovery_codes_issued",
            obj=code_set,
            data={"count": len(hashes)},
        )
    return codes


def recovery_code_use(*, user: User, code: str) -> RecoveryCodeSet | None:
    """Spend one recovery code: the user's code set (a django-otp device) if `code` is one of
    their unused codes, which is then deleted; None otherwise. Audited either way, and wrong
    codes throttle the set as wrong TOTP codes throttle the app."""
    normalised = recovery_code_normalise(code)
    with transaction.atomic():
        code_set = (
            RecoveryCodeSet.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=True)
            .first()
        )
        if code_set is None:
            return None
        allowed, _ = code_set.verify_is_allowed()
        found = None
        if allowed and normalised is not None:
            found = code_set.codes.filter(code_hash__in=recovery_code_hashes(normalised)).first()
        if found is None:
            if allowed:
                code_set.throttle_increment(commit=True)
            audit_record(actor=user, action="auth.recovery_code_failed", obj=code_set, data={})
            return None
        found.delete()
        code_set.throttle_reset(commit=True)
        audit_record(
            actor=user,
            action="auth.recovery_code_used",
            obj=code_set,
            data={"remaining": code_set.codes.count()},
        )
    return code_set


def two_factor_reset(*, user: User, actor: User | None, reason: str) -> bool:
    """Remove the user's authenticator and recovery codes (a lost phone): they enrol again at
    their next sign-in if their role requires it. Sessions verified by the removed devices
    owe a code again at once. False when there was nothing to remove."""
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a reason is required")])
    with transaction.atomic():
        devices = list(TotpDevice.objects.select_for_update().filter(user_id=user.pk))
        code_sets = list(RecoveryCodeSet.objects.select_for_update().filter(user_id=user.pk))
        if not devices and not code_sets:
            return False
        for device in devices:
            blob = device.sealed_key
            device.delete()
            blob.delete()
        for code_set in code_sets:
            code_set.delete()
        audit_record(actor=actor, action="auth.two_factor_reset", obj=user, reason=reason)
    return True


def sign_in_audit(*, user: Any) -> None:
    """A successful sign-in (Django's user_logged_in, see accounts.signals)."""
    audit_record(actor=user, action="auth.sign_in", obj=user)


def sign_in_failed_audit(*, username: str) -> None:
    """A failed sign-in. The attempted username is kept only as the lockout table keeps it, a
    keyed hash (lockout.username_key): it may be a password typed into the wrong box, and the
    audit chain is append-only and goes into every backup. Whoever holds the instance secret
    can still tell whether a given name was tried; the password itself is never recorded."""
    audit_record(
        actor=None, action="auth.sign_in_failed", data={"username_key": username_key(username)}
    )


def sign_in_refused_audit(*, username: str, ip: str) -> None:
    """A sign-in refused by the lockout, before the password was checked (username as above)."""
    audit_record(
        actor=None,
        action="auth.sign_in_refused",
        data={"username_key": username_key(username), "ip": ip},
    )


def token_use_audit(*, token: ApiToken, method: str | None, path: str) -> None:
    """A write by script: on the audit chain even when the write itself is then refused."""
    audit_record(
        actor=token.user, action="token.use", obj=token, data={"method": method, "path": path[:200]}
    )


# --- ways in: sign-up, e-mail verification, invitations, password reset, anonymous reporters


def _absolute(path: str) -> str:
    return settings.BASE_URL.rstrip("/") + path


def email_verification_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_verification_tokens.make_token(user)
    return _absolute(reverse("accounts:signup_verify", args=[uid, token]))


def signup_register(
    *, username: str, email: str, password: str, pseudonym: str = "", role: str = "researcher"
) -> User | None:
    """A new account from the sign-up page, inactive until the mailed link is followed.

    When the address already belongs to an account, no account is made and that address is
    told so by mail instead: the page answers the same either way, so sign-up never tells who
    has an account here. Returns the new user, or None."""
    role = Role(role)
    if role in ORGANISATION_ROLES or role == Role.ADMIN:
        raise InvalidInput([FieldError("role", "sign-up grants only platform-wide roles")])
    if User.objects.filter(email__iexact=email).exists():
        send_mail(
            subject="modelcvd: you already have an account",
            message=(
                "Someone (perhaps you) tried to sign up at modelcvd with this address, which "
                "already has an account. No new account was made.\n\nForgot your password? "
                f"Reset it here: {_absolute(reverse('accounts:password_reset'))}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
        return None
    with transaction.atomic():
        user = user_create(
            username=username,
            password=password,
            email=email,
            pseudonym=pseudonym,
            is_active=False,
        )
        membership_grant(user=user, role=role, organisation=None, actor=None)
        audit_record(actor=None, action="user.signup", obj=user, data={"role": role.value})
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    send_mail(
        subject="modelcvd: confirm your e-mail address",
        message=(
            f"Welcome to modelcvd, {user.username}.\n\nFollow this link to confirm your address "
            f"and activate your account (it works once, for {days} days):\n\n"
            f"{email_verification_link(user)}\n\nIf you did not sign up, ignore this mail: "
            "without the link the account never becomes active.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return user


def email_verify(*, user: User) -> User:
    """Activate an account whose verification link was followed (the caller checked it)."""
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(actor=user, action="user.email_verify", obj=user, data={"email": user.email})
    return user


def invitation_create(*, actor: User | None, email: str, role: str = "researcher") -> str:
    """An invitation link for `email` (sign-up in invite mode). `actor` None: an operator;
    otherwise an administrator (anyone else: not found)."""
    if actor is not None and not is_administrator(actor):
        raise NotFound()
    try:
        wanted = Role(role)
    except ValueError:
        raise InvalidInput([FieldError("role", f"one of {[r.value for r in Role]}")]) from None
    if wanted in ORGANISATION_ROLES or wanted == Role.ADMIN:
        raise InvalidInput(
            [FieldError("role", "invite to a platform-wide role (researcher or defender)")]
        )
    if "@" not in email or len(email) > 254:
        raise InvalidInput([FieldError("email", "an e-mail address")])
    code = invitation_code(email=email, role=wanted.value)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="invitation.create",
            object_type="accounts.invitation",
            object_id=email,
            data={"email": email, "role": wanted.value},
        )
    return _absolute(reverse("accounts:signup") + "?" + urlencode({"invitation": code}))


def password_reset_complete(*, user: User, password: str) -> User:
    """Set the password chosen through a reset link. The second factor is untouched: staff
    still give a code at their next sign-in."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="password.reset", obj=user)
    return user


ANONYMOUS_PSEUDONYM = "Anonymous reporter"


def _ip_key(ip: str) -> str:
    return salted_hmac("modelcvd.anonymous-ip", ip, algorithm="sha256").hexdigest()


def anonymous_reporter_create(*, ip: str) -> tuple[User, str]:
    """An internal pseudonymous reporter for one anonymous report: inactive, no usable
    password, reachable only through the one-time follow-up secret returned here (never
    stored, only its keyed hash). Capped per client address and in all, per hour."""
    per_ip = settings.ANONYMOUS_REPORTS_PER_IP_HOUR
    in_all = settings.ANONYMOUS_REPORTS_PER_HOUR
    if per_ip <= 0 or in_all <= 0:
        raise RateLimited("anonymous reports are turned off on this instance")
    since = timezone.now() - timedelta(hours=1)
    recent = FollowUpLink.objects.filter(created_at__gte=since)
    key = _ip_key(ip)
    if recent.filter(ip_key=key).count() >= per_ip or recent.count() >= in_all:
        raise RateLimited("too many anonymous reports just now: try again in an hour")
    secret = FOLLOW_UP_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        user = user_create(
            username=f"anonymous-{secrets.token_hex(8)}",
            password=None,
            pseudonym=ANONYMOUS_PSEUDONYM,
            is_active=False,
        )
        FollowUpLink.objects.create(user=user, secret_hash=follow_up_hashes(secret)[0], ip_key=key)
        audit_record(actor=None, action="user.anonymous_reporter", obj=user)
    return user, secret
