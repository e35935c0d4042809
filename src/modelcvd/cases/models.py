"""Cases: one or more reports under one workflow, with a timeline and comments."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.workflow import CaseState
from modelcvd.policy.models import Program


class Case(models.Model):
    """The unit of coordination: state, affected artifacts, who was told what and when."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cases")
    title = models.CharField(max_length=200)
    state = models.CharField(
        max_length=32,
        choices=[(s.value, s.value.replace("_", " ")) for s in CaseState],
        default=CaseState.RECEIVED,
    )
    artifacts = models.ManyToManyField(Artifact, related_name="cases")
    # Set once, when the vendor is first told: from then on the vendor's members see the case.
    vendor_notified_at = models.DateTimeField(null=True, blank=True)
    # Set when this case was merged into another (cases.merge): its reports moved there, its
    # own timeline stays and is shown under the target's.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Case #{self.pk}: {self.title}"


class TimelineEvent(models.Model):
    """Something that happened to a case, in order. Transitions carry their reason."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        TRANSITION = "transition", "Transition"
        COMMENT = "comment", "Comment"
        VERIFICATION = "verification", "Verification"
        MERGE = "merge", "Merge"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on case #{self.case_id} at {self.at:%Y-%m-%d %H:%M}"


class Comment(models.Model):
    """A message on a case. Visibility decides who beyond the coordinators reads it."""

    class Visibility(models.TextChoices):
        INTERNAL = "internal", "Internal (coordinators only)"
        REPORTER = "reporter", "Shared with the reporter"
        VENDOR = "vendor", "Shared with the vendor"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment #{self.pk} on case #{self.case_id} ({self.visibility})"
