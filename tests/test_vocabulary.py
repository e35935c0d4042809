"""The one vocabulary: model choices, ninja schemas and the disclosure order all derive from
`modelcvd.vocabulary`, which stays pure (no Django)."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from typing import Any

import pytest
from django.db import models
from pydantic import TypeAdapter, ValidationError

from modelcvd import vocabulary as v
from modelcvd.accounts.models import Membership
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.schemas import AdvisoryContent, AdvisoryTransitionIn
from modelcvd.assessments import models as assessment_models
from modelcvd.assessments.api import FindingIn, ThreatModelIn
from modelcvd.cases.models import Case, Comment, DeadlineExtension, Escalation
from modelcvd.cases.schemas import CommentIn, EmbargoIn, ExtensionIn, RubricIn, TransitionIn
from modelcvd.credits.api import BountyStatusIn, CreditIn, CreditOut
from modelcvd.credits.models import Bounty, Credit
from modelcvd.policy.disclosure import LEVEL_NAMES, Level
from modelcvd.scoring.rubric import Access
from modelcvd.scoring.tier import Tier
from modelcvd.taxonomy import AtlasTechniqueId, atlas_technique_check

TERMS = [
    v.CreditType,
    v.Role,
    v.TokenScope,
    v.DisclosureLevel,
    v.CaseState,
    v.CommentVisibility,
    v.DeadlineKind,
    v.EmbargoAction,
    v.AdvisoryState,
    v.RunVerdict,
    v.FixVerdictLabel,
    v.VersionStatus,
    v.VexJustification,
]

# Every model field whose values come from an enumeration, with that enumeration.
MODEL_FIELDS: list[tuple[type[models.Model], str, type[Enum]]] = [
    (Credit, "credit_type", v.CreditType),
    (Membership, "role", v.Role),
    (Case, "state", v.CaseState),
    (Case, "tier", Tier),
    (Comment, "visibility", v.CommentVisibility),
    (DeadlineExtension, "deadline", v.DeadlineKind),
    (Escalation, "deadline", v.DeadlineKind),
    (Advisory, "state", v.AdvisoryState),
    (Bounty, "status", Bounty.Status),
]

# Every ninja input field that takes a vocabulary value, with the values it must accept.
SCHEMA_FIELDS: list[tuple[type[Any], str, list[str]]] = [
    (CreditIn, "credit_type", v.CreditType.values),
    (CreditOut, "credit_type", v.CreditType.values),
    (BountyStatusIn, "status", Bounty.Status.values),
    (TransitionIn, "to", v.CaseState.values),
    (CommentIn, "visibility", v.CommentVisibility.values),
    (ExtensionIn, "deadline", v.DeadlineKind.values),
    (EmbargoIn, "action", v.EmbargoAction.values),
    (RubricIn, "access", [a.value for a in Access]),
    (AdvisoryTransitionIn, "to", v.AdvisoryState.values),
    (AdvisoryContent, "reproduction_level", ["vendor", "never"]),
    (FindingIn, "severity", assessment_models.Severity.values),
    (FindingIn, "remediation", assessment_models.Remediation.values),
    (ThreatModelIn, "threat_model", assessment_models.ThreatModel.values),
    (ThreatModelIn, "claim", assessment_models.ClaimLevel.values),
]


@pytest.mark.parametrize("term", TERMS, ids=lambda t: t.__name__)
def test_each_term_has_a_value_a_label_and_django_style_choices(term: type[v.Term]) -> None:
    assert term.values == [member.value for member in term]
    assert term.choices == list(zip(term.values, term.labels, strict=True))
    assert all(label.strip() for label in term.labels)
    assert len(set(term.values)) == len(term.values)
    for member in term:
        assert term(member.value) is member  # lookup by the stored value
        assert member == member.value and repr(member) == repr(member.value)


@pytest.mark.parametrize(
    ("model", "field", "enum"), MODEL_FIELDS, ids=lambda x: getattr(x, "__name__", str(x))
)
def test_model_choices_are_the_vocabulary(
    model: type[models.Model], field: str, enum: type[Enum]
) -> None:
    choices = model._meta.get_field(field).choices
    assert choices is not None
    assert [value for value, _ in choices] == [member.value for member in enum]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("schema", "field", "values"), SCHEMA_FIELDS, ids=lambda x: getattr(x, "__name__", str(x))
)
def test_schemas_accept_exactly_the_vocabulary(
    schema: type[Any], field: str, values: list[str]
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(schema.model_fields[field].annotation)
    assert adapter.json_schema()["enum"] == values  # what the OpenAPI document publishes
    for value in values:
        assert adapter.validate_python(value) == value
    for wrong in ("", "bogus", values[0].upper(), "other"):
        if wrong not in values:
            with pytest.raises(ValidationError):
                adapter.validate_python(wrong)


def test_organisation_roles_and_token_scopes_keep_their_old_homes() -> None:
    from modelcvd.accounts import models as accounts
    from modelcvd.cases import workflow

    assert accounts.Role is v.Role and accounts.TokenScope is v.TokenScope
    assert accounts.ORGANISATION_ROLES == (v.Role.TRIAGER, v.Role.VENDOR_MEMBER, v.Role.ASSESSOR)
    assert workflow.CaseState is v.CaseState
    assert Comment.Visibility is v.CommentVisibility and Advisory.State is v.AdvisoryState


def test_disclosure_order_speaks_the_vocabulary() -> None:
    assert [level.label for level in Level] == v.DisclosureLevel.values == LEVEL_NAMES
    for term in v.DisclosureLevel:
        assert Level.parse(term.value).term is term
        assert Level.of(term).label == term.value
    assert Level.parse(" Defender ") is Level.DEFENDER
    with pytest.raises(ValueError, match="unknown disclosure level"):
        Level.parse("secret")


def test_sequential_decisions_are_run_verdicts() -> None:
    from typing import get_args

    assert set(get_args(v.SequentialDecision)) == set(v.RunVerdict) - {v.RunVerdict.BLOCKED}
    assert {v.RunVerdict.REPRODUCED, v.RunVerdict.NOT_REPRODUCED} == v.DECIDED_VERDICTS


def test_one_atlas_check_everywhere() -> None:
    """The ATLAS id check lives in the taxonomy; reports, advisory content and the export
    model all refuse an unknown technique with its words."""
    from modelcvd.interop.advisory import AdvisoryDocument
    from modelcvd.reports.document import Technique

    assert atlas_technique_check("AML.T0054") == "AML.T0054"
    with pytest.raises(ValueError, match="unknown MITRE ATLAS technique id"):
        atlas_technique_check("AML.T9999")
    adapter: TypeAdapter[Any] = TypeAdapter(AtlasTechniqueId)
    assert adapter.validate_python("AML.T0054") == "AML.T0054"
    with pytest.raises(ValidationError, match="unknown MITRE ATLAS technique id"):
        adapter.validate_python("AML.T9999")
    with pytest.raises(ValidationError, match="pattern"):
        adapter.validate_python("T0054")
    for model, field in (
        (Technique, "atlas"),
        (AdvisoryContent, "atlas"),
        (AdvisoryDocument, "atlas_technique"),
    ):
        metadata = model.model_fields[field].metadata
        checks = [m.func for m in metadata if hasattr(m, "func")]
        assert checks == [atlas_technique_check], (model, field)


def test_the_vocabulary_is_pure() -> None:
    """The pure engines may import it, so it must import no Django and no app."""
    # The package's own __init__ (the Celery app) is loaded first and does not count.
    code = (
        "import sys, modelcvd; before = set(sys.modules); import modelcvd.vocabulary; "
        "bad = sorted(m for m in set(sys.modules) - before if m.startswith('django') "
        "or (m.startswith('modelcvd.') and m != 'modelcvd.vocabulary')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
