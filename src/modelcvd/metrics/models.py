"""Per-case facts for the metrics, derived from the timeline and kept current as it grows."""

from __future__ import annotations

from django.db import models

from modelcvd.cases.models import Case
from modelcvd.policy.models import Program


class CaseFact(models.Model):
    """One case's milestones as the metrics need them, all derived from its timeline.

    Times are whole epoch seconds (UTC); durations run from receipt. `*_due` are the deadline
    instants under the program's targets (None where a deadline does not apply). Rebuilt for
    one case by every service that changes its timeline, tier, state or runs (they call
    core.projections.case_projections_refresh) and for all cases by `metrics_rebuild` (after bulk
    loads); never edited by hand.
    """

    class State(models.IntegerChoices):
        OPEN = 0, "Milestone not reached yet"
        MET = 1, "Reached by the due instant"
        LATE = 2, "Reached after the due instant"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(max_length=10, blank=True)
    is_open = models.BooleanField()
    triaged = models.BooleanField()
    valid = models.BooleanField()
    duplicate = models.BooleanField()
    received = models.BigIntegerField()
    received_month = models.IntegerField(help_text="YYYYMM of receipt, UTC")
    ack_s = models.BigIntegerField(null=True)
    triage_s = models.BigIntegerField(null=True)
    fix_s = models.BigIntegerField(null=True)
    disclose_s = models.BigIntegerField(null=True)
    ack_due = models.BigIntegerField(null=True)
    triage_due = models.BigIntegerField(null=True)
    remediate_due = models.BigIntegerField(null=True)
    disclose_due = models.BigIntegerField(null=True)
    # Per deadline, what is settled (CaseFact.State); None where the deadline does not apply.
    # Whether an OPEN one is missed depends on the moment asked, so that is left to the query.
    ack_state = models.SmallIntegerField(null=True)
    triage_state = models.SmallIntegerField(null=True)
    remediate_state = models.SmallIntegerField(null=True)
    disclose_state = models.SmallIntegerField(null=True)
    # Pooled trials of finished verification runs on the case's own (affected) artifacts and
    # on other versions (fixes): the exploit potential before and after.
    before_successes = models.IntegerField(default=0)
    before_trials = models.IntegerField(default=0)
    after_successes = models.IntegerField(default=0)
    after_trials = models.IntegerField(default=0)

    class Meta:
        # Percentiles are read by offset along these indexes (index-only scans), so the
        # dashboard never sorts the whole table.
        indexes = [
            models.Index(fields=["ack_s"], name="fact_ack"),
            models.Index(fields=["triage_s"], name="fact_triage"),
            models.Index(fields=["fix_s"], name="fact_fix"),
            models.Index(fields=["disclose_s"], name="fact_disclose"),
            models.Index(fields=["program", "ack_s"], name="fact_program_ack"),
            models.Index(fields=["program", "triage_s"], name="fact_program_triage"),
            models.Index(fields=["program", "fix_s"], name="fact_program_fix"),
            models.Index(fields=["program", "disclose_s"], name="fact_program_disclose"),
            models.Index(fields=["program", "received_month"], name="fact_program_month"),
        ]

    def __str__(self) -> str:
        return f"facts of case #{self.case_id}"
