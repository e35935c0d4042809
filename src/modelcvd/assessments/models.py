"""Third-party security assessments of AI developers against threat models.

What a published assessment shows to everyone: who assessed whom, when, the assessors by name,
and per threat model the scope, the method, the dates, the robustness claim, and each
finding's title, severity and remediation status. What stays sealed: each threat model's
detailed notes and each finding's detail, readable (with an audited reason) only by the
assessed organisation's members and the assessing organisation's assessors.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.accounts.models import Organisation
from modelcvd.assessments.access import AssessmentQuerySet
from modelcvd.core.models import SealedBlob


class ThreatModel(models.TextChoices):
    WEIGHT_EXFILTRATION = "weight_exfiltration", "Model-weight exfiltration"
    ALGORITHMIC_SECRETS = "algorithmic_secrets", "Theft of algorithmic secrets and IP"
    MODEL_TAMPERING = "model_tampering", "Model tampering (backdoors)"
    COMPUTE_MISUSE = "compute_misuse", "Unauthorized use of compute"
    PERSISTENT_PRESENCE = "persistent_presence", "Persistent attacker presence"
    CUSTOM = "custom", "Custom threat model"


class ClaimLevel(models.TextChoices):
    """How robust the assessors found the systems, ordered from weakest to strongest."""

    NOT_ASSESSED = "not_assessed", "Not assessed"
    BASIC = "basic", "Basic"
    OPPORTUNISTIC = "opportunistic", "Robust against opportunistic attackers"
    WELL_RESOURCED = "well_resourced", "Robust against well-resourced attackers"


class Severity(models.TextChoices):
    INFO = "info", "Informational"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Remediation(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    REMEDIATED = "remediated", "Remediated"
    ACCEPTED = "accepted", "Risk accepted"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Assessment(models.Model):
    """One assessment of an organisation by an assessor organisation; draft until published."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    assessor_org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="assessments_made"
    )
    subject = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="assessments_received"
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    assessors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="assessments")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at", "-id"]
        indexes = [models.Index(fields=["state", "subject"], name="assessment_state_subject")]

    def __str__(self) -> str:
        return f"{self.title} ({self.subject} by {self.assessor_org})"


class ThreatModelResult(models.Model):
    """One threat model within an assessment: what was looked at, how, and the claim."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="threat_models"
    )
    threat_model = models.CharField(max_length=30, choices=ThreatModel.choices)
    custom_name = models.CharField(max_length=120, blank=True)
    scope = models.TextField()
    method = models.TextField()
    started_on = models.DateField()
    ended_on = models.DateField()
    claim = models.CharField(max_length=20, choices=ClaimLevel.choices)
    remediation = models.CharField(
        max_length=20, choices=Remediation.choices, default=Remediation.OPEN
    )
    # Detailed notes (attack paths tried, evidence): sealed; see the module docstring.
    detail = models.OneToOneField(SealedBlob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["assessment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_on__gte=models.F("started_on")),
                name="threat_model_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["assessment", "threat_model", "custom_name"],
                name="threat_model_once_per_assessment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} in assessment #{self.assessment_id}"

    @property
    def label(self) -> str:
        if self.threat_model == ThreatModel.CUSTOM:
            return self.custom_name
        return ThreatModel(self.threat_model).label


class Finding(models.Model):
    """A finding under a threat model: title, severity and status public once published;
    the detail sealed."""

    result = models.ForeignKey(ThreatModelResult, on_delete=models.CASCADE, related_name="findings")
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    remediation = models.CharField(
        max_length=20, choices=Remediation.choices, default=Remediation.OPEN
    )
    detail = models.OneToOneField(SealedBlob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["result", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.severity})"
