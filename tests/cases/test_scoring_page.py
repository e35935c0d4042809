"""Scoring that explains itself (issue 17): the CVSS 4.0 calculator builds the vector from one
choice per base metric (scored by the `cvss` library), SSVC decision points are offered in
CERT/CC's words, the harm category comes from the report, one paragraph reconciles tier, CVSS
and SSVC, and an advisory drafted from the case keeps its scores."""

from __future__ import annotations

import pytest
from django.test import Client

from modelcvd.advisories.services import content_from_case
from modelcvd.cases.models import Case
from modelcvd.scoring.reconcile import severity_reconciliation
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db

METRICS = {
    "AV": "N", "AC": "L", "AT": "N", "PR": "N", "UI": "N",
    "VC": "H", "VI": "L", "VA": "N", "SC": "N", "SI": "N", "SA": "N",
}  # fmt: skip
SSVC_TRIAGE = {
    "triage_report_public": "N",
    "triage_supplier_contacted": "Y",
    "triage_report_credibility": "C",
    "triage_supplier_cardinality": "O",
    "triage_supplier_engagement": "A",
    "triage_utility": "E",
    "triage_public_safety_impact": "M",
}


def test_the_calculator_and_ssvc_in_words(world: World) -> None:
    case_id = world.cases["a"].pk
    client = sign_in(Client(), world.users["triager"])
    page = client.get(f"/cases/{case_id}/").content.decode()
    assert "CVSS 4.0 calculator" in page and "Attack Vector (AV)" in page
    assert "Network (N)" in page
    # SSVC in CERT/CC's words: names and definitions, not bare codes.
    assert "Is a viable report of the details of the vulnerability already publicly" in page
    assert "Yes: A public report of the vulnerability exists." in page
    # The harm category comes from the report before anyone scores.
    harm = world.reports["a"].harm_category
    assert f'<option value="{harm}" selected>' in page
    # Half a vector names the first metric left out.
    half = client.post(
        f"/cases/{case_id}/score/",
        {"cvss_AV": "N", "access": "open_weights", "harm_category": harm},
    )
    assert half.status_code == 422 and "choose every base metric" in half.content.decode()
    done = client.post(
        f"/cases/{case_id}/score/",
        {
            **{f"cvss_{k}": v for k, v in METRICS.items()},
            **SSVC_TRIAGE,
            "access": "open_weights",
            "harm_category": harm,
        },
    )
    assert done.status_code == 302
    case = Case.objects.get(pk=case_id)
    assert case.cvss_vector == "CVSS:4.0/" + "/".join(f"{k}:{v}" for k, v in METRICS.items())
    assert case.cvss_score is not None
    page = client.get(f"/cases/{case_id}/").content.decode()
    assert 'id="severity-reconciliation"' in page and "SSVC is not a severity" in page
    # The form shows the scores as they stand: the metrics and SSVC answers are kept.
    assert '<option value="H" selected>' in page
    # A pasted vector that differs from the chosen metrics is refused, naming the field.
    clash = client.post(
        f"/cases/{case_id}/score/",
        {
            **{f"cvss_{k}": v for k, v in METRICS.items()},
            "cvss_vector": "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "access": "open_weights",
            "harm_category": harm,
        },
    )
    assert clash.status_code == 422 and "differs from the metrics" in clash.content.decode()
    # The advisory draft inherits the case's vector and harm category.
    drafted = content_from_case(case)
    assert drafted["cvss_vector"] == case.cvss_vector and drafted["harm_category"] == harm


def test_the_reconciliation_paragraph() -> None:
    assert severity_reconciliation({"tier": None}) == ""
    text = severity_reconciliation(
        {
            "tier": "critical",
            "cvss_score": 6.9,
            "cvss_severity": "Medium",
            "ssvc": {"triage": {"outcome": "decline"}, "publish": {"outcome": "publish"}},
        }
    )
    assert "The tier is above the CVSS rating" in text
    assert "Coordinator Triage says decline" in text and "not that the finding is minor" in text
    lower = severity_reconciliation({"tier": "low", "cvss_score": 9.3, "cvss_severity": "Critical"})
    assert "The CVSS rating is above the tier" in lower
