"""Reports as researchers send them. The reproduction payload is sealed at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.artifacts.models import Artifact
from modelcvd.core.models import SealedBlob
from modelcvd.policy.models import Program
from modelcvd.reports.access import ReportQuerySet


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

    objects = ReportQuerySet.as_manager()

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


class PayloadSignature(models.Model):
    """The near-duplicate fingerprint of a report's payload (reports.dedup): a MinHash
    signature over keyed shingle hashes, never the payload itself. `key_id` names the shingle
    key it was made under, so rows made before a key change are known stale and re-indexed.
    THREAT_MODEL.md says what a signature reveals."""

    report = models.OneToOneField(
        Report, on_delete=models.CASCADE, primary_key=True, related_name="payload_signature"
    )
    key_id = models.CharField(max_length=24)
    signature = models.BinaryField()
    shingle_count = models.PositiveIntegerField()
    indexed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"payload signature of report #{self.report_id}"


class PayloadBand(models.Model):
    """One LSH band key of a report's signature. A duplicate lookup is one indexed
    `bucket IN (...)` over this table; adding a report inserts only its own rows."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    bucket = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["bucket", "report"], name="payload_band_bucket")]

    def __str__(self) -> str:
        return f"band {self.bucket} of report #{self.report_id}"


class DuplicateCandidate(models.Model):
    """A possible duplicate proposed to the triager: `report` (the newer) may repeat
    `candidate`, by near-identical payload or by the same artifact and technique. Only the
    coordinators see these; they dismiss a proposal or merge the two cases."""

    class Kind(models.TextChoices):
        PAYLOAD = "payload", "Near-duplicate payload"
        ARTIFACT_TECHNIQUE = "artifact_technique", "Same artifact and technique"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        MERGED = "merged", "Merged"

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="duplicate_candidates"
    )
    candidate = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The MinHash estimate of the shingle Jaccard and the edit-distance ratio (payload kind);
    # for the artifact kind, `score` is the Jaccard of the two reports' artifact sets.
    jaccard = models.FloatField(null=True, blank=True)
    edit_ratio = models.FloatField(null=True, blank=True)
    score = models.FloatField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "candidate", "kind"], name="duplicate_candidate_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(report=models.F("candidate")),
                name="duplicate_candidate_not_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"report #{self.report_id} may repeat #{self.candidate_id} ({self.kind})"
