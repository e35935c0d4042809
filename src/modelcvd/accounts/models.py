"""Organisations, memberships with roles, API tokens and researcher identities (the user
model itself is core's)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_otp.models import Device, ThrottlingMixin

# The user model is the kernel's (core/models.py says why); importable from here as before.
from modelcvd.core.models import User as User
from modelcvd.vocabulary import ORGANISATION_ROLES, Role

# Defined in the vocabulary; importable from here as before.
from modelcvd.vocabulary import TokenScope as TokenScope


class Organisation(models.Model):
    """A vendor of models, a coordinator running programs, or an assessor."""

    class Kind(models.TextChoices):
        VENDOR = "vendor", "Vendor"
        COORDINATOR = "coordinator", "Coordinator"
        ASSESSOR = "assessor", "Assessor"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Members (every role) sign in with a second factor, as staff always do: vendors read
    # sealed payloads too. Set by accounts.services.organisation_two_factor_set (audited).
    require_two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A role a user holds, for an organisation where the role acts on its behalf."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                name="membership_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(
                    role__in=[r.value for r in ORGANISATION_ROLES], organisation__isnull=False
                )
                | (
                    ~Q(role__in=[r.value for r in ORGANISATION_ROLES])
                    & Q(organisation__isnull=True)
                ),
                name="membership_org_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.organisation or ''}".strip()


class ApiToken(models.Model):
    """A bearer token for scripts. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def state_at(self, now: datetime) -> str:
        """active, revoked or expired: only an active token authenticates."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class ResearcherIdentity(models.Model):
    """A researcher's real identity (legal name, e-mail, affiliation), sealed at rest.

    Vendors and the public only ever see `User.public_name`. Opening this needs the researcher
    themselves, or an administrator with a reason, and is audited (safe harbor, bounties).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity"
    )
    sealed = models.OneToOneField("core.SealedBlob", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"identity of {self.user_id}"


class SignInFailure(models.Model):
    """A failed password sign-in, kept while it counts towards a lockout window.

    `username_key` is a keyed hash of the username as typed (lower-cased): it may name no
    account, or be a password typed into the wrong box, so it is never stored in clear here.
    """

    username_key = models.CharField(max_length=64)
    ip = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["username_key", "at"], name="signin_failure_username"),
            models.Index(fields=["ip", "at"], name="signin_failure_ip"),
        ]

    def __str__(self) -> str:
        return f"sign-in failure from {self.ip or '?'} at {self.at:%Y-%m-%d %H:%M:%S}"


class FollowUpLink(models.Model):
    """The one-time follow-up link of an anonymous report: it stands for the internal,
    pseudonymous reporter made for that report (inactive, no usable password).

    Only a keyed hash of the link's secret is stored (`secret_hash`, like recovery codes), so
    the database cannot give the link back; the reporter is shown it once. `ip_key` is a keyed
    hash of the submitter's address, kept to cap anonymous submissions per address.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_up_link"
    )
    secret_hash = models.CharField(max_length=64, unique=True)
    ip_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"follow-up link of {self.user_id}"


# After n wrong codes in a row, the next is refused for 2**(n-1) seconds (django-otp's
# exponential back-off; the factor is the first delay).
THROTTLE_FACTOR = 1


class TotpDevice(ThrottlingMixin, Device):
    """A user's TOTP authenticator app (RFC 6238, SHA-1, 30 s steps, 6 digits).

    The shared secret is sealed (`sealed_key`, a core.SealedBlob opened only through
    accounts.services, each opening audited): a copy of the database or a backup holds no
    secret from which codes could be made. This row keeps only what makes codes one-time
    (`last_t`), the clock drift and the throttle. django-otp's OTPMiddleware finds it through
    the session, like any django-otp device; codes are checked by accounts.services.totp_check.
    """

    # django-otp's field, with no reverse accessor on the kernel's user model.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sealed_key = models.OneToOneField("core.SealedBlob", on_delete=models.PROTECT, related_name="+")
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)  # steps of clock skew accepted
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)  # the last time step whose code was accepted
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], name="totp_device_one_per_user")]

    def get_throttle_factor(self) -> int:
        return THROTTLE_FACTOR


class RecoveryCodeSet(ThrottlingMixin, Device):
    """A user's one-time recovery codes, for signing in without the authenticator app.

    A django-otp device (so a session verified by a recovery code is verified like any other)
    whose codes are `RecoveryCode` rows holding only a keyed hash; the codes are shown once,
    when made.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], name="recovery_codes_one_per_user")]

    def get_throttle_factor(self) -> int:
        return THROTTLE_FACTOR


class RecoveryCode(models.Model):
    """One unused recovery code, as an HMAC-SHA256 keyed with the instance secret (SECRET_KEY,
    never in the database): the codes carry 60 random bits, so a stored hash cannot be turned
    back into a code without that key. A code is deleted when used."""

    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code_set", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.code_set_id}"
