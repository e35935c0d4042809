"""Vulnerability disclosure programs: scope, safe harbor, response targets, deadlines by tier,
the security.txt each program publishes, and the intake rules (abstract first, held-out
benchmark payloads)."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from modelcvd.accounts.models import Organisation
from modelcvd.artifacts.models import Artifact


def default_remediation_days() -> dict[str, int]:
    return {"critical": 30, "high": 60, "medium": 90, "low": 180}


def default_disclosure_days() -> dict[str, int]:
    # 90 days is the coordinated-disclosure norm; low findings are batched into releases.
    return {"critical": 90, "high": 90, "medium": 90, "low": 180}


class Program(models.Model):
    """A disclosure program run by an organisation: its policy and the artifacts in scope.

    Response targets are business days (Monday to Friday, UTC); remediation and disclosure
    deadlines are calendar days per severity tier, counted from when the vendor is notified
    (see policy/deadlines.py and docs/programs.md).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="programs"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    policy_text = models.TextField(blank=True)
    scope = models.ManyToManyField(Artifact, blank=True, related_name="programs")
    accepts_reports = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Scope beyond artifacts: endpoints (one per line) and what is explicitly out of scope.
    scope_endpoints = models.TextField(blank=True)
    out_of_scope = models.TextField(blank=True)
    safe_harbor = models.TextField(blank=True)
    # The vendor waives enforcement of its AI terms of service (usage policies, account bans)
    # against good-faith research that follows this policy.
    ai_terms_waiver = models.BooleanField(default=True)

    acknowledge_business_days = models.PositiveSmallIntegerField(default=2)
    triage_business_days = models.PositiveSmallIntegerField(default=5)
    remediation_days = models.JSONField(default=default_remediation_days)
    disclosure_days = models.JSONField(default=default_disclosure_days)

    # security.txt (RFC 9116). Contact URIs one per line (mailto:, https:, tel:).
    security_contacts = models.TextField(blank=True)
    encryption_url = models.URLField(blank=True)
    acknowledgments_url = models.URLField(blank=True)
    preferred_languages = models.CharField(max_length=100, default="en")
    # When set, the file expires then; otherwise it is rendered on each request to expire
    # SECURITY_TXT_LIFETIME after (RFC 9116 wants less than a year).
    security_txt_expires = models.DateTimeField(null=True, blank=True)
    # The program whose security.txt is served at /.well-known/security.txt.
    is_default = models.BooleanField(default=False)

    # Four eyes: publishing an advisory needs a second coordinator's approval in review.
    publication_approval = models.BooleanField(
        default=True,
        help_text="Publishing an advisory needs a second coordinator to approve it in review.",
    )

    # Intake: the reporter sends an abstract first; the payload only after a scope check.
    abstract_first = models.BooleanField(default=False)
    # Reports' payloads are held-out benchmark items: vendors get per-category aggregates only.
    benchmark_holdout = models.BooleanField(default=False)

    # What a fix verdict needs before it says "fixed" (verification/engine/verdict.py,
    # docs/verification.md): the after-rate's exact (Clopper-Pearson) 95% upper bound below
    # this rate, over at least this many after-trials, besides a significant drop.
    fix_acceptable_rate = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(1.0)],
        help_text="A fixed version's attack success rate must be shown to be below this.",
    )
    fix_min_trials = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1)],
        help_text="Fewest trials on the fixed version before a fix verdict says fixed.",
    )
    # Reproduce before triage (docs/verification.md): with auto_verify on, a report whose
    # payload arrives in scope is replayed, in the worker, on the targets offered to this
    # program for the report's artifacts.
    auto_verify = models.BooleanField(default=False)
    auto_verify_trials = models.PositiveIntegerField(default=30)
    # "Reproduces" means: the 95 % Clopper-Pearson lower bound of the measured rate is at least
    # this (the triage order, the rubric's reproducibility input, the advisory, regressions).
    reproduction_threshold = models.FloatField(default=0.5)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_program"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def contact_list(self) -> list[str]:
        return [line.strip() for line in self.security_contacts.splitlines() if line.strip()]

    def endpoint_list(self) -> list[str]:
        return [line.strip() for line in self.scope_endpoints.splitlines() if line.strip()]

    def deadline_table(self) -> list[dict[str, Any]]:
        """Rows for the policy page: tier, remediation days, disclosure days."""
        return [
            {
                "tier": tier,
                "remediation": self.remediation_days.get(tier),
                "disclosure": self.disclosure_days.get(tier),
            }
            for tier in ("critical", "high", "medium", "low")
        ]
