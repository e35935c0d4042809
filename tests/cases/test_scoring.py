"""Scoring a case through the API and the case page: CVSS 4.0, the AI rubric, SSVC."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.core.models import AuditEvent
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.verification.models import VerificationRun
from tests.factories import World, sign_in

VECTOR = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N"
TRIAGE = {
    "report_public": "N",
    "supplier_contacted": "Y",
    "report_credibility": "C",
    "supplier_cardinality": "M",
    "supplier_engagement": "A",
    "utility": "S",
    "public_safety_impact": "S",
}
PUBLISH = {"supplier_involvement": "FR", "exploitation": "P", "public_value_added": "A"}


def put(api: Any, path: str, body: dict[str, Any]) -> Any:
    return api.client.put(
        path,
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )


def test_score_stores_tier_explanation_and_ssvc_and_moves_deadlines(
    world: World, api_as: Any
) -> None:
    case = world.cases["a"]
    before = Case.objects.get(pk=case.pk)
    assert before.remediate_due is None  # no tier yet
    response = put(
        api_as("triager"),
        f"/api/v1/cases/{case.pk}/score",
        {
            "cvss_vector": VECTOR,
            "rubric": {"access": "hosted_api", "harm_category": "indiscriminate_weapons"},
            "ssvc_triage": TRIAGE,
            "ssvc_publish": PUBLISH,
        },
    )
    assert response.status_code == 200, response.content
    severity = response.json()["severity"]
    assert severity["cvss_score"] is not None and severity["cvss_vector"] == VECTOR
    assert severity["tier"] in {"high", "critical"}
    assert severity["ssvc"]["triage"]["outcome"] in {"decline", "track", "coordinate"}
    assert severity["ssvc"]["triage"]["table"] == "ssvc:DT_COORD_TRIAGE:1.0.0"
    assert severity["ssvc"]["publish"]["table"] == "ssvc:DT_COORD_PUBLISH:1.0.0"
    assert "AI severity rubric v1.0" in severity["explanation"]
    # No run has finished: the reproducibility is the reported 3/10 trials' lower bound.
    assert "reported trials 3/10" in severity["explanation"]
    assert severity["rubric"]["inputs"]["reproducibility"] < 0.3
    after = Case.objects.get(pk=case.pk)
    assert after.remediate_due is not None and after.disclose_due is not None
    assert TimelineEvent.objects.filter(case=case, kind="score").exists()
    assert AuditEvent.objects.filter(action="case.score", object_id=str(case.pk)).exists()
    # Shown on the case page.
    page = sign_in(Client(), world.users["vendor_a"]).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="case-tier">' + severity["tier"] in page and "CVSS 4.0" in page


def test_latest_finished_run_supplies_reproducibility(world: World, api_as: Any) -> None:
    case = world.cases["a"]
    assert world.run is not None
    VerificationRun.objects.filter(pk=world.run.pk).update(
        state="finished",
        summary={"successes": 9, "trials": 10, "rate": 0.9, "wilson": [0.6, 0.98]},
    )
    body = put(
        api_as("triager"),
        f"/api/v1/cases/{case.pk}/score",
        {"rubric": {"access": "hosted_api", "reproducibility": 0.01}},
    ).json()
    # The exact (Clopper-Pearson) lower bound of 9/10, from the counts, not a stored interval.
    exact_low = float(clopper_pearson_interval(9, 10)[0])
    assert body["severity"]["rubric"]["inputs"]["reproducibility"] == pytest.approx(exact_low)
    assert "9/10 successes (exact lower bound)" in body["severity"]["explanation"]
    assert f"verification run #{world.run.pk}" in body["severity"]["explanation"]


def test_invalid_input_names_the_field_and_the_reason(world: World, api_as: Any) -> None:
    response = put(
        api_as("triager"),
        f"/api/v1/cases/{world.cases['a'].pk}/score",
        {
            "cvss_vector": "CVSS:4.0/AV:N/AC:L",
            "rubric": {"access": "hosted_api", "harm_category": "weather", "reach": 0},
            "ssvc_triage": {**TRIAGE, "utility": "enormous"},
            "ssvc_publish": {"exploitation": "N"},
        },
    )
    assert response.status_code == 422
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert "Missing mandatory metrics" in errors["cvss_vector"]
    # The rubric stops at its first bad factor and names it.
    assert "AILuminate hazard slug" in errors["rubric.harm_category"]
    assert "Utility" in errors["ssvc_triage"] and "expected one of" in errors["ssvc_triage"]
    assert "missing" in errors["ssvc_publish"]
    assert Case.objects.get(pk=world.cases["a"].pk).tier == ""  # nothing stored


def test_web_score_form_rejects_a_bad_vector_with_422(world: World) -> None:
    client = sign_in(Client(), world.users["triager"])
    client.get("/signin/")
    response = client.post(
        f"/cases/{world.cases['a'].pk}/score/",
        {"cvss_vector": "CVSS:3.1/AV:N", "access": "hosted_api", "harm_category": "hate"},
    )
    assert response.status_code == 422
    assert "cvss_vector" in response.content.decode()
    ok = client.post(
        f"/cases/{world.cases['a'].pk}/score/",
        {"cvss_vector": VECTOR, "access": "open_weights", "harm_category": "hate"},
    )
    assert ok.status_code == 302
    assert Case.objects.get(pk=world.cases["a"].pk).cvss_vector == VECTOR
