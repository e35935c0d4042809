"""The platform's one vocabulary: every enumeration more than one part of modelcvd speaks.

Pure Python, no Django, so the pure engines (interop, scoring, verification.engine) may use it
as well as the apps. Each enumeration is a `Term`: a `StrEnum` whose members carry a human
label, and whose class offers `choices`, `values` and `labels` the way Django's TextChoices
does. Model fields take `choices=X.choices`, ninja schemas take `X` as the field type, forms
take `X.choices`, and each export format holds one total mapping from `X` to its own words
(a test checks every mapping is total). A value written here is stored in the database:
renaming one needs a data migration, relabelling one only an AlterField.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import EnumType, StrEnum
from typing import Literal, Self


class _TermType(EnumType):
    """The metaclass that gives each Term class Django-like `choices`, `values`, `labels`."""

    def _terms(cls) -> Iterator[Term]:
        return iter(cls.__members__.values())

    @property
    def choices(cls) -> list[tuple[str, str]]:
        """[(value, label), ...] in declaration order, for model fields and forms."""
        return [(term.value, term.label) for term in cls._terms()]

    @property
    def values(cls) -> list[str]:
        return [term.value for term in cls._terms()]

    @property
    def labels(cls) -> list[str]:
        return [term.label for term in cls._terms()]


class Term(StrEnum, metaclass=_TermType):
    """A stored value with its label: `FINDER = "finder", "Finder"`."""

    _value_: str
    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        # The label is optional only so that lookups by value, Term("finder"), work.
        term = str.__new__(cls, value)
        term._value_ = value
        term.label = label or value
        return term

    def __repr__(self) -> str:
        # Validation errors quote the expected values with repr(): "Input should be 'vendor'
        # or 'never'" reads better for an API client than the enum's own <Class.NAME: 'v'>.
        return repr(self.value)


class CreditType(Term):
    """What a credited person, tool or sponsor did (CVE 5 / OSV credit types, minus the ones
    modelcvd has no use for: `remediation_reviewer`, `other`)."""

    FINDER = "finder", "Finder"
    REPORTER = "reporter", "Reporter"
    ANALYST = "analyst", "Analyst"
    COORDINATOR = "coordinator", "Coordinator"
    REMEDIATION_DEVELOPER = "remediation_developer", "Remediation developer"
    REMEDIATION_VERIFIER = "remediation_verifier", "Remediation verifier"
    TOOL = "tool", "Tool"
    SPONSOR = "sponsor", "Sponsor"


class Role(Term):
    """A role a user holds, platform-wide or for one organisation (see ORGANISATION_ROLES)."""

    RESEARCHER = "researcher", "Researcher"
    TRIAGER = "triager", "Triager"
    VENDOR_MEMBER = "vendor_member", "Vendor member"
    DEFENDER = "defender", "Defender"
    ASSESSOR = "assessor", "Assessor"
    ADMIN = "admin", "Administrator"


# Roles that act for an organisation need one; the others are platform-wide.
ORGANISATION_ROLES = (Role.TRIAGER, Role.VENDOR_MEMBER, Role.ASSESSOR)


class TokenScope(Term):
    """What an API token may do."""

    READ = "read", "Read"
    SUBMIT = "submit", "Submit reports"
    TRIAGE = "triage", "Triage"
    ADMIN = "admin", "Administer"


class DisclosureLevel(Term):
    """Who may read a field of an advisory, lowest first. The order and the rules live in
    `policy.disclosure.Level`; this is the level's name as stored and exported."""

    PUBLIC = "public", "Public"
    DEFENDER = "defender", "Defender"
    VENDOR = "vendor", "Vendor"
    NEVER = "never", "Never"  # held-out benchmark items: shown to nobody


# The levels an advisory document may be rendered at for interchange; NEVER is never rendered.
ExportLevel = Literal[DisclosureLevel.PUBLIC, DisclosureLevel.DEFENDER, DisclosureLevel.VENDOR]
# Who may ever see an advisory's reproduction: its vendors, or nobody (held-out items).
ReproductionLevel = Literal[DisclosureLevel.VENDOR, DisclosureLevel.NEVER]


class CaseState(Term):
    """A case's place in the workflow (`cases.workflow` holds the transitions). Labels are the
    values with spaces, as the pages have always shown them."""

    RECEIVED = "received", "received"
    ACKNOWLEDGED = "acknowledged", "acknowledged"
    VALID = "triaged_valid", "triaged valid"
    INVALID = "triaged_invalid", "triaged invalid"
    DUPLICATE = "triaged_duplicate", "triaged duplicate"
    OUT_OF_SCOPE = "triaged_out_of_scope", "triaged out of scope"
    VENDOR_NOTIFIED = "vendor_notified", "vendor notified"
    REMEDIATING = "remediating", "remediating"
    FIX_AVAILABLE = "fix_available", "fix available"
    FIX_VERIFIED = "fix_verified", "fix verified"
    DISCLOSED = "disclosed", "disclosed"
    WITHHELD = "withheld", "withheld"
    CLOSED = "closed", "closed"


class CommentVisibility(Term):
    """Who beyond the coordinators reads a comment on a case."""

    INTERNAL = "internal", "Internal (coordinators only)"
    REPORTER = "reporter", "Shared with the reporter"
    VENDOR = "vendor", "Shared with the vendor"


class MailTopic(Term):
    """What the platform may e-mail a person about; each can be turned off on their
    notification settings page."""

    CASE_MOVES = "case_moves", "A case I reported moves to a new state"
    VENDOR_NOTICES = "vendor_notices", "My organisation is notified of a case"
    COMMENTS = "comments", "A comment is shared with me on a case"


class DeadlineKind(Term):
    """The four clocks a program's policy sets on a case."""

    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    TRIAGE = "triage", "Triage"
    REMEDIATE = "remediate", "Remediate"
    DISCLOSE = "disclose", "Disclose"


class EmbargoAction(Term):
    """What a party does to a case's embargo."""

    PROPOSE = "propose", "propose"
    AGREE = "agree", "agree"
    REVISE = "revise", "revise"
    EXIT = "exit", "exit"


class AdvisoryState(Term):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class VersionStatus(Term):
    """What an advisory says about one version of an artifact (the statuses CSAF VEX, CVE 5
    and OSV can each express; every export holds a total mapping from these)."""

    AFFECTED = "affected", "Affected"
    FIXED = "fixed", "Fixed"
    NOT_AFFECTED = "not_affected", "Not affected"
    UNDER_INVESTIGATION = "under_investigation", "Under investigation"


class VendorCaseStatus(Term):
    """A vendor's own status in one case (the vendor grid, as in CERT/CC's VINCE): stated by
    the vendor's members or by the case's coordinators; "no response" until someone does."""

    AFFECTED = "affected", "Affected"
    NOT_AFFECTED = "not_affected", "Not affected"
    FIXED = "fixed", "Fixed"
    NO_RESPONSE = "no_response", "No response"


class VexJustification(Term):
    """Why a version is not affected: the five VEX justifications (CSAF 2.0 flags, CISA's
    minimum requirements for VEX). A replay that does not reproduce the attack on a model
    says the behaviour is absent from those weights: `vulnerable_code_not_present`."""

    COMPONENT_NOT_PRESENT = "component_not_present", "Component not present"
    VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present", "Vulnerable code not present"
    VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = (
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "Vulnerable code cannot be controlled by adversary",
    )
    VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = (
        "vulnerable_code_not_in_execute_path",
        "Vulnerable code not in execute path",
    )
    INLINE_MITIGATIONS_ALREADY_EXIST = (
        "inline_mitigations_already_exist",
        "Inline mitigations already exist",
    )


class RunVerdict(Term):
    """What a verification run concluded about the reported attack on one artifact."""

    REPRODUCED = "reproduced", "Reproduced"
    NOT_REPRODUCED = "not_reproduced", "Not reproduced"
    UNDECIDED = "undecided", "Undecided"
    # The model that answered is not the one pinned (identity check), so no verdict counts.
    BLOCKED = "blocked", "Identity mismatch - not counted"


# What sequential testing can decide on its own; BLOCKED comes from the identity checks.
SequentialDecision = Literal[RunVerdict.REPRODUCED, RunVerdict.NOT_REPRODUCED, RunVerdict.UNDECIDED]
# The verdicts that say something about the artifact (lineage and advisories use only these).
DECIDED_VERDICTS = frozenset({RunVerdict.REPRODUCED, RunVerdict.NOT_REPRODUCED})


class FixVerdictLabel(Term):
    """What comparing a run before and a run after a fix concluded."""

    # The rate dropped significantly, the after-rate's exact upper bound is below the
    # acceptable rate, and the after-run had at least the minimum number of trials.
    FIXED = "fixed", "Fixed"
    # The rate dropped significantly, but the after-rate may still be above the acceptable one.
    REDUCED = "reduced", "Reduced"
    # Too few after-trials, or no significant drop while the after-rate may be acceptable.
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    # No significant drop, and the after-rate is above the acceptable one.
    NOT_FIXED = "not_fixed", "Not fixed"
    # The runs cannot be compared (different artifacts pinned, conversations, judges, ...).
    BLOCKED = "blocked", "Blocked"


class LogEntryKind(Term):
    """What a transparency log entry records (transparency/)."""

    ADVISORY_REVISION = "advisory_revision", "Advisory revision"
    PAYLOAD_COMMITMENT = "payload_commitment", "Payload commitment"
    ATTESTATION = "attestation", "Verification attestation"
    AUDIT_CHECKPOINT = "audit_checkpoint", "Audit chain checkpoint"
