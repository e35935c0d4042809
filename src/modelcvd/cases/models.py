"""Cases: one or more reports under one workflow, with a timeline and comments."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.access import CaseQuerySet
from modelcvd.policy.models import Program
from modelcvd.scoring.tier import Tier
from modelcvd.vocabulary import CaseState, CommentVisibility, DeadlineKind, VendorCaseStatus

# Each deadline's due column and the milestone column that meets it.
DUE_FIELD = {
    DeadlineKind.ACKNOWLEDGE: "acknowledge_due",
    DeadlineKind.TRIAGE: "triage_due",
    DeadlineKind.REMEDIATE: "remediate_due",
    DeadlineKind.DISCLOSE: "disclose_due",
}
MET_FIELD = {
    DeadlineKind.ACKNOWLEDGE: "acknowledged_at",
    DeadlineKind.TRIAGE: "triaged_at",
    DeadlineKind.REMEDIATE: "remediated_at",
    DeadlineKind.DISCLOSE: "disclosed_at",
}


class Case(models.Model):
    """The unit of coordination: state, affected artifacts, who was told what and when."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cases")
    title = models.CharField(max_length=200)
    state = models.CharField(
        max_length=32,
        choices=CaseState.choices,
        default=CaseState.RECEIVED,
    )
    artifacts = models.ManyToManyField(Artifact, related_name="cases")
    # Severity tier (scoring.tier.Tier) once the case is scored; deadlines and the per-tier
    # compliance metrics key on it. Empty while unscored.
    tier = models.CharField(
        max_length=10,
        blank=True,
        default="",
        choices=[(tier.value, tier.value) for tier in Tier],
    )
    # Set once, when a vendor is first told (the remediation clock runs from then). Who was
    # told is CaseVendor, per organisation: only those vendors' members see the case.
    vendor_notified_at = models.DateTimeField(null=True, blank=True)
    # Set when this case was merged into another (cases.services.merge): its reports moved
    # there, its own timeline stays and is shown under the target's.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Severity (cases/services/scoring.py): CVSS 4.0, the AI rubric and SSVC, set by a coordinator.
    cvss_vector = models.CharField(max_length=300, blank=True)
    cvss_score = models.FloatField(null=True, blank=True)
    cvss_severity = models.CharField(max_length=20, blank=True)
    rubric = models.JSONField(default=dict, blank=True)
    severity_explanation = models.TextField(blank=True)
    ssvc = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    # The measured rate of reproduction (verification.services.watch writes it through
    # cases.services.measure): the intake run that best reproduced the case, its 95 %
    # Clopper-Pearson interval, and whether the lower bound met the program's threshold.
    # `reproduced` None: not measured yet.
    measured_successes = models.PositiveIntegerField(null=True, blank=True)
    measured_trials = models.PositiveIntegerField(null=True, blank=True)
    measured_low = models.FloatField(null=True, blank=True)
    measured_high = models.FloatField(null=True, blank=True)
    measured_run_id = models.PositiveIntegerField(null=True, blank=True)
    reproduced = models.BooleanField(null=True, blank=True)

    # Deadlines (cases/services/deadlines.py), recomputed on every change that moves them.
    waiting_on_reporter_since = models.DateTimeField(null=True, blank=True)
    acknowledge_due = models.DateTimeField(null=True, blank=True)
    triage_due = models.DateTimeField(null=True, blank=True)
    remediate_due = models.DateTimeField(null=True, blank=True)
    disclose_due = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    remediated_at = models.DateTimeField(null=True, blank=True)
    disclosed_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Case #{self.pk}: {self.title}"


class CaseVendor(models.Model):
    """A vendor organisation that was told of the case: its members see the case from then on.

    The one record of who was notified. Naming an artifact does not make its vendor a party
    (a merge adds artifacts): only the notify step (cases.services.vendors) writes a row."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="vendor_parties")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    notified_at = models.DateTimeField()
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # The vendor's own status in this case (the vendor grid): set by the vendor's members or
    # the case's coordinators (cases.services.vendors.case_vendor_status_set).
    status = models.CharField(
        max_length=20, choices=VendorCaseStatus.choices, default=VendorCaseStatus.NO_RESPONSE
    )
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["notified_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "organisation"], name="notify_vendor_once")
        ]

    def __str__(self) -> str:
        return f"vendor {self.organisation_id} told of case #{self.case_id}"


class TimelineEvent(models.Model):
    """Something that happened to a case, in order. Transitions carry their reason."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        TRANSITION = "transition", "Transition"
        COMMENT = "comment", "Comment"
        VERIFICATION = "verification", "Verification"
        # Researcher re-verification of an announced fix (issue #8).
        REVERIFICATION = "reverification", "Re-verification requested"
        FIX_CONFIRMED = "fix_confirmed", "Reporter confirms the fix"
        FIX_DISPUTED = "fix_disputed", "Reporter disputes the fix"
        SCORE = "score", "Scored"
        WAITING = "waiting", "Waiting on reporter"
        EXTENSION = "extension", "Deadline extension"
        ESCALATION = "escalation", "Escalation"
        EMBARGO = "embargo", "Embargo"
        SCOPE = "scope", "Scope check"
        PAYLOAD = "payload", "Payload received"
        MERGE = "merge", "Merge"
        VENDOR_NOTIFY = "vendor_notify", "Vendor notified"
        VENDOR_STATUS = "vendor_status", "Vendor status"
        REGRESSION = "regression", "Regression"

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

    Visibility = CommentVisibility

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Whose reporter channel a reporter-visible comment belongs to: reporters of a merged case
    # read only their own channel, never each other's. Keyed by the reporter (not the report):
    # reports sit above cases, and a foreign key from cases to reports would make the two apps
    # depend on each other (in imports and in migrations).
    channel_reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment #{self.pk} on case #{self.case_id} ({self.visibility})"


class CasePause(models.Model):
    """An interval in which the case waited on its reporter: the deadline clocks stopped."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return f"pause of case #{self.case_id} from {self.start:%Y-%m-%d}"


class DeadlineExtension(models.Model):
    """A request to move one deadline later by some days; a coordinator approves or denies it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    deadline = models.CharField(max_length=12, choices=DeadlineKind.choices)
    days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"{self.days}-day extension of {self.deadline} on case #{self.case_id}"


class Escalation(models.Model):
    """One breach level reached by one deadline. Unique, so the beat task escalates once."""

    class Level(models.IntegerChoices):
        TRIAGER = 1, "Triager"
        VENDOR = 2, "Vendor"
        COORDINATOR = 3, "Coordinator"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    deadline = models.CharField(max_length=12, choices=DeadlineKind.choices)
    due_at = models.DateTimeField()
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    at = models.DateTimeField()
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "deadline", "due_at", "level"], name="escalate_once_per_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deadline} breach level {self.level} on case #{self.case_id}"


class Embargo(models.Model):
    """The agreed date before which nothing about the case is published.

    proposed -> active (every vendor agreed) -> revised (new date) -> exited (published,
    lifted, or expired at its date).
    """

    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        REVISED = "revised", "Revised"
        EXITED = "exited", "Exited"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="embargo")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED)
    public_date = models.DateTimeField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"embargo of case #{self.case_id} ({self.state})"


# An embargo still holding its public date (proposed, or in force).
EMBARGO_IN_FORCE = (Embargo.State.ACTIVE, Embargo.State.REVISED)
EMBARGO_LIVE = (Embargo.State.PROPOSED, *EMBARGO_IN_FORCE)


class EmbargoAgreement(models.Model):
    """A vendor organisation's agreement to the embargo's current date."""

    embargo = models.ForeignKey(Embargo, on_delete=models.CASCADE, related_name="agreements")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    public_date = models.DateTimeField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["embargo", "organisation", "public_date"], name="agree_once_per_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} agrees to embargo #{self.embargo_id}"


class CaseFix(models.Model):
    """The version that fixes one of the case's artifacts, as named at the "fix available"
    step (cases.services.transitions). Open weights cannot be patched: the fix is another
    Artifact, registered there if it was not known. One row per affected artifact; a later
    fix step (after a failed verification sent the case back) replaces it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="fixes")
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    fixed_by = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(TimelineEvent, null=True, on_delete=models.SET_NULL, related_name="+")
    stated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    stated_at = models.DateTimeField()

    class Meta:
        ordering = ["stated_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "artifact"], name="one_fix_per_case_artifact"),
            models.CheckConstraint(
                condition=~models.Q(artifact=models.F("fixed_by")), name="fix_is_another_version"
            ),
        ]

    def __str__(self) -> str:
        return f"artifact #{self.artifact_id} fixed by #{self.fixed_by_id} (case #{self.case_id})"


class CaseSeen(models.Model):
    """When a user last opened a case's page: the inbox marks a case unread when its timeline
    has moved since. A read receipt for the reader's own convenience, not an audit record."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case"], name="case_seen_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} saw case #{self.case_id} at {self.seen_at:%Y-%m-%d %H:%M}"
