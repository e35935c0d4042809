"""Model artifacts, pinned exactly: a finding is about one revision, not a model family."""

from __future__ import annotations

from django.db import models

from modelcvd.accounts.models import Organisation
from modelcvd.artifacts.access import ArtifactQuerySet


class Artifact(models.Model):
    """One exact model version. Open weights cannot be patched: a fix is a new Artifact."""

    class Access(models.TextChoices):
        OPEN_WEIGHTS = "open_weights", "Open weights"
        API = "api", "API"
        HOSTED_APP = "hosted_app", "Hosted application"

    class Relation(models.TextChoices):
        FINE_TUNE = "fine_tune", "Fine-tune"
        ADAPTER = "adapter", "Adapter"
        QUANTIZATION = "quantization", "Quantization"
        MERGE = "merge", "Merge"
        ABLITERATION = "abliteration", "Abliteration"
        OTHER = "other", "Other"

    class LineageSource(models.TextChoices):
        REGISTERED = "registered", "Registered"
        CARD = "card", "Model card"
        FORENSICS = "forensics", "Weight forensics"

    provider = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    version_label = models.CharField(max_length=100, blank=True)
    revision = models.CharField(max_length=200, blank=True)
    weights_digest = models.CharField(max_length=64, blank=True, help_text="sha256, hex")
    access = models.CharField(max_length=20, choices=Access.choices, default=Access.OPEN_WEIGHTS)
    vendor = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="artifacts"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    relation = models.CharField(max_length=20, choices=Relation.choices, blank=True)
    # Where the parent relation comes from: registered by a coordinator, claimed by a model
    # card (untrusted: abliteration tools copy the source's card), or found by weight forensics.
    lineage_source = models.CharField(max_length=20, choices=LineageSource.choices, blank=True)
    # A fix is a new version: open weights already published cannot be patched.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    purl = models.CharField(max_length=300, blank=True, help_text="pkg:huggingface/ORG/NAME@REV")
    manifest_digest = models.CharField(
        max_length=64, blank=True, help_text="sha256 over the manifest's file digests"
    )
    manifest = models.JSONField(default=dict, blank=True, help_text="per-file sha256")
    local_dir = models.CharField(
        max_length=1000, blank=True, help_text="local copy of the weights, for forensics"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ArtifactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "name", "revision"], name="artifact_pinned_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True, relation="")
                | models.Q(parent__isnull=False) & ~models.Q(relation=""),
                name="artifact_relation_with_parent",
            ),
        ]
        ordering = ["provider", "name", "revision"]

    def __str__(self) -> str:
        rev = f"@{self.revision[:12]}" if self.revision else ""
        return f"{self.provider}/{self.name}{rev}"

    @property
    def cannot_be_patched(self) -> bool:
        """Open weights, once published, stay as they are: only a new version can fix them."""
        return self.access == self.Access.OPEN_WEIGHTS
