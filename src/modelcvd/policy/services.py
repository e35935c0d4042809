"""Writes on programs, and the security.txt each program publishes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import Organisation, Role, User
from modelcvd.accounts.selectors import organisations_where, roles_of
from modelcvd.artifacts.models import Artifact
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from modelcvd.core.projections import program_projections_rebuild
from modelcvd.interop.csaf_provider import WELL_KNOWN as CSAF_WELL_KNOWN
from modelcvd.policy.models import Program
from modelcvd.policy.securitytxt import SecurityTxt, render_security_txt
from modelcvd.scoring.tier import Tier

CONTACT_SCHEMES = ("mailto:", "https://", "tel:")


def program_create(
    *,
    actor: User | None,
    organisation: Organisation,
    name: str,
    slug: str,
    policy_text: str = "",
    scope: Iterable[Artifact] = (),
    **policy: Any,
) -> Program:
    if actor is not None and Role.ADMIN not in roles_of(actor):
        raise Forbidden("only administrators configure programs")
    _check_policy(policy)
    with transaction.atomic():
        program = Program.objects.create(
            organisation=organisation, name=name, slug=slug, policy_text=policy_text, **policy
        )
        program.scope.set(scope)
        audit_record(actor=actor, action="program.create", obj=program)
    return program


POLICY_FIELDS = (
    "policy_text",
    "scope_endpoints",
    "out_of_scope",
    "safe_harbor",
    "ai_terms_waiver",
    "acknowledge_business_days",
    "triage_business_days",
    "remediation_days",
    "disclosure_days",
    "security_contacts",
    "encryption_url",
    "acknowledgments_url",
    "preferred_languages",
    "security_txt_expires",
    "abstract_first",
    "benchmark_holdout",
    "fix_acceptable_rate",
    "fix_min_trials",
    "accepts_reports",
    "auto_verify",
    "auto_verify_trials",
    "reproduction_threshold",
)


# Fields whose change moves deadline compliance in the metrics.
DEADLINE_FIELDS = frozenset(
    {"acknowledge_business_days", "triage_business_days", "remediation_days", "disclosure_days"}
)


def _check_policy(policy: dict[str, Any]) -> None:
    errors: list[FieldError] = []
    unknown = sorted(set(policy) - set(POLICY_FIELDS) - {"is_default"})
    for name in unknown:
        errors.append(FieldError(name, "not a program policy field"))
    for name in ("remediation_days", "disclosure_days"):
        if name in policy:
            table = policy[name]
            tiers = {t.value for t in Tier}
            if not isinstance(table, dict) or set(table) != tiers:
                errors.append(FieldError(name, f"give days for exactly {sorted(tiers)}"))
            elif any(
                isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 3650
                for v in table.values()
            ):
                errors.append(FieldError(name, "days are whole numbers from 1 to 3650"))
    for name in ("acknowledge_business_days", "triage_business_days"):
        value = policy.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
            errors.append(FieldError(name, "a whole number of business days from 1 to 60"))
    for line in str(policy.get("security_contacts", "")).splitlines():
        line = line.strip()
        if line and (not line.startswith(CONTACT_SCHEMES) or any(ord(ch) < 32 for ch in line)):
            errors.append(
                FieldError("security_contacts", f"{line!r} is not a mailto:, https:// or tel: URI")
            )
    for name in ("encryption_url", "acknowledgments_url"):
        value = str(policy.get(name, ""))
        if value and (
            not value.startswith("https://") or any(ord(ch) < 33 or ord(ch) == 127 for ch in value)
        ):
            errors.append(FieldError(name, "an https:// URL (RFC 9116 requires https)"))
    languages = str(policy.get("preferred_languages", "en"))
    if any(not tag.strip().replace("-", "").isalnum() for tag in languages.split(",")):
        errors.append(
            FieldError("preferred_languages", "comma-separated language tags, e.g. en, de")
        )
    rate = policy.get("fix_acceptable_rate", 0.05)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0001 <= rate <= 1:
        errors.append(FieldError("fix_acceptable_rate", "a rate from 0.0001 to 1"))
    trials = policy.get("fix_min_trials", 30)
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= 10_000:
        errors.append(FieldError("fix_min_trials", "a whole number of trials from 1 to 10000"))
    trials = policy.get("auto_verify_trials", 30)
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= 10_000:
        errors.append(FieldError("auto_verify_trials", "a whole number of trials from 1 to 10000"))
    threshold = policy.get("reproduction_threshold", 0.5)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0.0 < threshold <= 1.0
    ):
        errors.append(FieldError("reproduction_threshold", "a rate above 0 and at most 1"))
    expires = policy.get("security_txt_expires")
    if expires is not None and (not isinstance(expires, datetime) or expires.tzinfo is None):
        errors.append(FieldError("security_txt_expires", "an aware date-time (with a time zone)"))
    if errors:
        raise InvalidInput(errors)


def program_policy_update(*, actor: User, slug: str, changes: dict[str, Any]) -> Program:
    """Change a program's policy: its administrators, or the triagers of its organisation."""
    _check_policy(changes)
    with transaction.atomic():
        program = Program.objects.select_for_update().filter(slug=slug).first()
        if program is None:
            raise NotFound()
        allowed = Role.ADMIN in roles_of(actor) or program.organisation_id in organisations_where(
            actor, Role.TRIAGER
        )
        if not allowed:
            raise Forbidden("only administrators and the program's triagers change its policy")
        for name, value in changes.items():
            setattr(program, name, value)
        program.save()
        audit_record(
            actor=actor,
            action="program.policy",
            obj=program,
            data={"fields": sorted(changes)},
        )
        if set(changes) & DEADLINE_FIELDS:
            program_projections_rebuild(program_id=program.pk)
    return program


def program_urls(program: Program) -> dict[str, str]:
    base = settings.BASE_URL.rstrip("/")
    return {
        "policy": f"{base}/programs/{program.slug}/",
        "security_txt": f"{base}/programs/{program.slug}/security.txt",
        "intake": f"{base}/reports/new/?program={program.slug}",
    }


LOCAL_USE = (
    "For local use only: this instance's base URL ({base}) is not https.",
    "RFC 9116 requires https for every web URI in this file, so this instance's own links",
    "(Canonical, Policy, the report form) are left out. Set MODELCVD_BASE_URL to the public",
    "https URL of the instance to publish a complete file.",
)


def program_security_txt(
    program: Program, *, now: datetime | None = None, canonical: tuple[str, ...] = ()
) -> str:
    """The program's security.txt (RFC 9116). Expires is the pinned date, or SECURITY_TXT_DAYS
    from `now`. `canonical` is where this copy is served (both URLs of the default program).

    Behind a plain-http base URL (a demo on a laptop) the file says at the top that it is for
    local use, and leaves out every http URI rather than write ones RFC 9116 forbids: it stays
    valid as long as the program names a contact that is not a web address (mailto:)."""
    now = now or timezone.now()
    urls = program_urls(program)
    expires = program.security_txt_expires or (now + timedelta(days=settings.SECURITY_TXT_DAYS))
    secure = settings.BASE_URL.startswith("https://")
    contacts = tuple(program.contact_list()) or (urls["intake"],)
    if not secure:
        # A program's own http contact is kept only when it has nothing else to give.
        contacts = tuple(c for c in contacts if not c.startswith("http://")) or contacts

    def web(values: tuple[str, ...]) -> tuple[str, ...]:
        return values if secure else tuple(v for v in values if not v.startswith("http://"))

    document = SecurityTxt(
        contact=contacts,
        expires=expires,
        encryption=(program.encryption_url,) if program.encryption_url else (),
        acknowledgments=(program.acknowledgments_url,) if program.acknowledgments_url else (),
        preferred_languages=tuple(
            tag.strip() for tag in program.preferred_languages.split(",") if tag.strip()
        ),
        canonical=web(canonical or (urls["security_txt"],)),
        policy=web((urls["policy"],)),
        # CSAF 2.0 requirement 8: where the instance's CSAF provider metadata is.
        csaf=web((f"{settings.BASE_URL}{CSAF_WELL_KNOWN}/provider-metadata.json",)),
        comments=() if secure else tuple(line.format(base=settings.BASE_URL) for line in LOCAL_USE),
    )
    return render_security_txt(document)
