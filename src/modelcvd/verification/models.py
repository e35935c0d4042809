"""Verification runs: a reported attack replayed N times on one pinned artifact, each trial
stored as it finishes so a killed worker resumes without redoing or double-counting."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.core.models import SealedBlob
from modelcvd.reports.models import Report
from modelcvd.verification.access import RunQuerySet


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
    judge = models.CharField(max_length=50, default="refusal")
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
