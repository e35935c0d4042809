"""Reports as researchers send them. The reproduction payload is sealed at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.artifacts.models import Artifact
from modelcvd.core.models import SealedBlob
from modelcvd.policy.models import Program


class Report(models.Model):
    """A report in the open report format. `payload` seals the system prompt and the turns."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="reports")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="reports")
    format_version = models.CharField(max_length=10)
    title = models.CharField(max_length=200)
    abstract = models.TextField()
    artifacts = models.ManyToManyField(Artifact, related_name="reports")
    owasp = models.CharField(max_length=5)
    atlas = models.CharField(max_length=20)
    harm_category = models.CharField(max_length=40)
    sampling = models.JSONField(default=dict)
    successes = models.PositiveIntegerField()
    trials = models.PositiveIntegerField()
    expected_behaviour = models.TextField(blank=True)
    observed_behaviour = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    # Empty while an abstract-first report waits for its scope check and payload.
    payload = models.OneToOneField(
        SealedBlob, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Intake(models.TextChoices):
        COMPLETE = "complete", "Complete"
        AWAITING_SCOPE = "awaiting_scope", "Abstract received, scope check pending"
        AWAITING_PAYLOAD = "awaiting_payload", "In scope, payload awaited"
        OUT_OF_SCOPE = "out_of_scope", "Out of scope"

    intake = models.CharField(max_length=20, choices=Intake.choices, default=Intake.COMPLETE)
    # The payload is a held-out benchmark item: vendors see per-category aggregates only.
    held_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(successes__lte=models.F("trials")),
                name="report_successes_le_trials",
            ),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk}: {self.title}"


class Attachment(models.Model):
    """A file attached to a report (logs, screenshots, transcripts). Sealed like the payload;
    only ever served as a download, never rendered."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    sealed = models.OneToOneField(SealedBlob, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.filename} on report #{self.report_id}"


class SubmissionKey(models.Model):
    """An Idempotency-Key a client sent with a submission: a retry with the same key and body
    returns the report made the first time instead of making a second one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # HMAC of the document under the server's secret, not a plain hash: a plain sha256 of a
    # sealed payload would let anyone with the database confirm a guessed payload.
    document_mac = models.CharField(max_length=64)
    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="submission_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"submission key of user {self.user_id}"
