"""Verification runs: a reported attack replayed N times on one pinned artifact, each trial
stored as it finishes so a killed worker resumes without redoing or double-counting. Runs go to
targets an organisation registered (Target: an endpoint with its sealed credential, or a local
model directory by digest); one request on several targets is a RunGroup (a transfer matrix)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.accounts.models import Organisation
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.core.models import SealedBlob
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report
from modelcvd.verification.access import RunQuerySet, TargetQuerySet


class Target(models.Model):
    """A model under test that an organisation registered, pinned to one artifact version: an
    OpenAI-compatible endpoint (URL, model name, optional credential sealed for this row and
    never shown again) or a local model directory identified by its manifest digest.

    A target is its organisation's: other organisations never see it, except the coordinators
    of the programs it was explicitly offered to (`offered_to`), who may then run cases of
    those programs on it (verification/access.py)."""

    class Kind(models.TextChoices):
        ENDPOINT = "endpoint", "OpenAI-compatible endpoint"
        LOCAL = "local", "Local model directory"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="verification_targets"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="targets")
    # Endpoint: base URL (.../v1) and the model name the server expects.
    url = models.CharField(max_length=500, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    # The bearer token, sealed for this row; only ever opened by a worker (audited).
    credential = models.OneToOneField(
        SealedBlob, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Local: the directory (under MODELCVD_MODEL_DIRS) and its manifest digest at registration.
    local_dir = models.CharField(max_length=1000, blank=True)
    digest = models.CharField(max_length=64, blank=True, help_text="sha256 manifest digest")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    max_concurrency = models.PositiveSmallIntegerField(default=4)
    offered_to = models.ManyToManyField(Program, blank=True, related_name="offered_targets")
    active = models.BooleanField(default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TargetQuerySet.as_manager()

    class Meta:
        ordering = ["organisation_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="target_name_per_org"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="endpoint", local_dir="", digest="")
                    & ~models.Q(url="")
                    & ~models.Q(model_name="")
                )
                | (
                    models.Q(kind="local", url="", model_name="", credential__isnull=True)
                    & ~models.Q(local_dir="")
                    & ~models.Q(digest="")
                ),
                name="target_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"target {self.name} ({self.organisation_id})"

    @property
    def uri(self) -> str:
        """The engine's target URI (no credential in it)."""
        if self.kind == self.Kind.LOCAL:
            return f"hf:{self.local_dir}"
        return f"openai:{self.url}#{self.model_name}"


class RunGroup(models.Model):
    """One request that ran a case's reports on several targets: a transfer matrix."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="run_groups")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    trials = models.PositiveIntegerField()
    sequential = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"transfer matrix #{self.pk} of case #{self.case_id}"


class VerificationRun(models.Model):
    """One statistical replay. `summary` is the engine's RunSummary once the run has finished."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="verification_runs")
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="+")
    artifact = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, related_name="verification_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    target_uri = models.CharField(max_length=500)
    # The registered target it ran on (None: a target URI named directly, without credential).
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    group = models.ForeignKey(
        RunGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    judge = models.CharField(max_length=50, default="refusal")

    class Purpose(models.TextChoices):
        REQUESTED = "requested", "Requested by a coordinator"
        INTAKE = "intake", "Reproduce before triage"
        REGRESSION = "regression", "Regression watch"

    # Why it ran: asked for, on intake (the program's auto_verify), or on a new version.
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.REQUESTED)
    trials = models.PositiveIntegerField()
    base_seed = models.BigIntegerField(default=0)
    sequential = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    summary = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"verification run #{self.pk} on {self.artifact}"


class VerificationTrial(models.Model):
    """One finished trial. The response (possibly harmful model output) is sealed; the counts
    that statistics need are plain."""

    run = models.ForeignKey(VerificationRun, on_delete=models.CASCADE, related_name="trial_rows")
    index = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    success = models.BooleanField()
    label = models.CharField(max_length=50)
    target_name = models.CharField(max_length=300)
    target_revision = models.CharField(max_length=200, blank=True)
    sealed = models.OneToOneField(SealedBlob, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="trial_once_per_run")]

    def __str__(self) -> str:
        return f"trial {self.index} of run #{self.run_id}"
