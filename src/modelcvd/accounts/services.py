"""Writes on accounts: users, memberships, API tokens, the sealed researcher identity, the
second factor, and the audit events of signing in. Each writes its audit event."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp import user_has_device, verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from modelcvd.accounts.lockout import username_key
from modelcvd.accounts.models import (
    ORGANISATION_ROLES,
    ApiToken,
    Membership,
    Organisation,
    ResearcherIdentity,
    Role,
    TokenScope,
    User,
)
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.sealing import create_sealed, seal

TOKEN_PREFIX = "mcvd_"  # noqa: S105 - a public prefix, not a secret
IDENTITY_PURPOSE = "researcher.identity"
IDENTITY_FIELDS = ("legal_name", "email", "affiliation")
TOTP_DEVICE_NAME = "authenticator"


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
) -> User:
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, pseudonym=pseudonym
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


def totp_device_confirm(*, user: User, key: str, token: str) -> TOTPDevice | None:
    """Enrol the key once a code from it is right; None (and an audit event) when it is not."""
    device = TOTPDevice(user=user, name=TOTP_DEVICE_NAME, key=key, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    with transaction.atomic():
        if not token.isdigit() or not totp.verify(int(token), device.tolerance):
            audit_record(actor=user, action="auth.totp_failed", obj=user, data={"stage": "setup"})
            return None
        if user_has_device(user):  # a second tab enrolled meanwhile: keep the first device
            return None
        device.last_t = totp.t()  # the code just used cannot be replayed
        device.drift = totp.drift
        device.save()
        audit_record(actor=user, action="auth.totp_device_confirmed", obj=device)
    return device


def totp_check(*, user: User, token: str) -> TOTPDevice | None:
    """The user's device if `token` is a valid code for it; failures are audited.

    django-otp throttles the device after failures (exponential back-off) and refuses a code
    already used.
    """
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        return None
    with transaction.atomic():
        verified = verify_token(user, device.persistent_id, token)
        if verified is None:
            audit_record(
                actor=user, action="auth.totp_failed", obj=device, data={"stage": "sign_in"}
            )
        else:
            audit_record(actor=user, action="auth.totp_verified", obj=device)
    return verified


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
