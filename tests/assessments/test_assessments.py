"""Assessments: drafts, publishing, the public view, the sealed detail and the comparison."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from modelcvd.assessments.models import Assessment
from modelcvd.core.models import AuditEvent, SealedBlob
from tests.factories import World, sign_in
from tests.transparency import SEALED_FINDING, SEALED_NOTE, build_transparency

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "subject": "vendor-b",
    "title": "Vendor B assessment",
    "summary": "Compute and tampering.",
    "threat_models": [
        {
            "threat_model": "compute_misuse",
            "scope": "GPU fleet",
            "method": "Configuration review",
            "started_on": "2026-05-01",
            "ended_on": "2026-05-10",
            "claim": "well_resourced",
            "detail": "secret compute notes",
            "findings": [{"title": "Quota bypass", "severity": "low", "detail": "quota detail"}],
        },
        {
            "threat_model": "model_tampering",
            "scope": "Release pipeline",
            "method": "Build provenance review",
            "started_on": "2026-05-01",
            "ended_on": "2026-05-03",
            "claim": "basic",
        },
    ],
}


def test_assessor_records_a_draft_seen_only_by_their_organisation(
    world: World, api_as: Any
) -> None:
    response = api_as("assessor").post("/api/v1/assessments", BODY)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["state"] == "draft"
    assert created["assessors"] == ["assessor"]
    assert [t["threat_model"] for t in created["threat_models"]] == [
        "compute_misuse",
        "model_tampering",
    ]
    assert "secret compute notes" not in response.content.decode()
    # The detail is sealed at rest: not in any plain column.
    assert not Assessment.objects.filter(summary__contains="secret compute notes").exists()
    assert SealedBlob.objects.filter(purpose="assessment.detail").count() == 3
    for role in ("anonymous", "vendor_b", "admin", "researcher_a"):
        r = api_as(role).get(f"/api/v1/assessments/{created['id']}")
        assert r.status_code == 404, role
    assert api_as("assessor").get(f"/api/v1/assessments/{created['id']}").status_code == 200
    public = api_as("anonymous").get("/api/v1/assessments").json()
    assert created["id"] not in [a["id"] for a in public]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "nope"}, "subject"),
        ({"subject": "coord"}, "subject"),
        ({"threat_models": []}, "threat_models"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_input_names_the_field(api_as: Any, change: dict[str, Any], field: str) -> None:
    response = api_as("assessor").post("/api/v1/assessments", {**BODY, **change})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ended_on": "2026-04-01"}, "threat_models.0.ended_on"),
        ({"ended_on": "2999-01-01"}, "threat_models.0.ended_on"),
        ({"claim": "bulletproof"}, "threat_models.0.claim"),
        ({"threat_model": "custom"}, "threat_models.0.custom_name"),
        ({"custom_name": "x"}, "threat_models.0.custom_name"),
        ({"findings": [{"title": "t", "severity": "dire"}]}, "threat_models.0.findings.0.severity"),
    ],
)
def test_bad_threat_model_names_the_nested_field(
    api_as: Any, change: dict[str, Any], field: str
) -> None:
    body = json.loads(json.dumps(BODY))
    body["threat_models"][0].update(change)
    response = api_as("assessor").post("/api/v1/assessments", body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


def test_duplicate_threat_model_is_refused(api_as: Any) -> None:
    body = json.loads(json.dumps(BODY))
    body["threat_models"][1]["threat_model"] = "compute_misuse"
    response = api_as("assessor").post("/api/v1/assessments", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "threat_models.1.threat_model"


def test_published_assessment_shows_findings_and_assessors_not_detail(
    world: World, api_as: Any
) -> None:
    t = build_transparency(world)
    response = api_as("anonymous").get(f"/api/v1/assessments/{t.assessment.pk}")
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "published" and data["assessors"] == ["assessor"]
    assert data["threat_models"][0]["findings"][0]["title"].startswith("Weight shards")
    assert data["threat_models"][0]["findings"][0]["severity"] == "high"
    body = response.content.decode()
    assert SEALED_NOTE not in body and SEALED_FINDING not in body
    page = Client().get(f"/assessments/{t.assessment.pk}/").content.decode()
    assert "Weight shards reachable" in page and SEALED_NOTE not in page
    again = api_as("assessor").post(f"/api/v1/assessments/{t.assessment.pk}/publish", {})
    assert again.status_code == 409


def test_sealed_detail_for_the_assessed_organisation_and_assessors_audited(
    world: World, api_as: Any
) -> None:
    t = build_transparency(world)
    url = f"/api/v1/assessments/{t.assessment.pk}/detail"
    before = AuditEvent.objects.filter(action="seal.open").count()
    for role in ("vendor_a", "assessor"):
        response = api_as(role).post(url, {"reason": "remediation planning"})
        assert response.status_code == 200, role
        assert SEALED_NOTE in response.json()["threat_models"].values()
        assert SEALED_FINDING in response.json()["findings"].values()
    # Three blobs (two threat models, one finding) per reader, each read audited.
    opened = AuditEvent.objects.filter(action="seal.open").order_by("seq")
    assert opened.count() == before + 6
    assert {e.reason for e in opened[before:]} == {"remediation planning"}
    missing = api_as("vendor_b").post("/api/v1/assessments/99999/detail", {"reason": "x"})
    for role in ("vendor_b", "admin", "researcher_a", "defender", "triager"):
        response = api_as(role).post(url, {"reason": "curious"})
        assert response.status_code == 404, role
        assert response.content == missing.content
    assert api_as("vendor_a").post(url, {"reason": ""}).json()["errors"][0]["field"] == "reason"


def test_web_unseal_shows_the_detail_to_the_assessed_organisation(world: World) -> None:
    t = build_transparency(world)
    client = sign_in(Client(), world.users["vendor_a"])
    page = client.get(f"/assessments/{t.assessment.pk}/").content.decode()
    assert "Open sealed detail" in page
    response = client.post(f"/assessments/{t.assessment.pk}/", {"reason": "fix planning"})
    assert response.status_code == 200
    assert SEALED_FINDING in response.content.decode()
    other = sign_in(Client(), world.users["vendor_b"])
    assert (
        "Open sealed detail" not in other.get(f"/assessments/{t.assessment.pk}/").content.decode()
    )


def test_comparison_side_by_side(world: World, api_as: Any) -> None:
    build_transparency(world)
    created = api_as("assessor").post("/api/v1/assessments", BODY).json()
    api_as("assessor").post(f"/api/v1/assessments/{created['id']}/publish", {})
    data = api_as("anonymous").get("/api/v1/assessments/compare").json()
    assert data["organisations"] == ["Vendor A", "Vendor B"]
    columns = [key for key, _ in data["threat_models"]]
    assert columns[:5] == [
        "weight_exfiltration",
        "algorithmic_secrets",
        "model_tampering",
        "compute_misuse",
        "persistent_presence",
    ]
    assert "custom:Data poisoning of the fine-tuning pipeline" in columns
    cells = {(c["organisation"], c["threat_model"]): c for c in data["cells"]}
    assert cells[("Vendor A", "weight_exfiltration")]["claim"] == "opportunistic"
    assert cells[("Vendor A", "weight_exfiltration")]["open_findings"] == 1
    assert cells[("Vendor B", "compute_misuse")]["claim"] == "well_resourced"
    assert ("Vendor B", "weight_exfiltration") not in cells
    page = Client().get("/assessments/compare/").content.decode()
    assert page.count('class="mark"') == 4
    assert "Robust against well-resourced attackers" in page


def test_web_draft_form_and_publish(world: World) -> None:
    client = sign_in(Client(), world.users["assessor"])
    form = {
        "subject": "vendor-a",
        "title": "Web draft",
        "threat_model": "persistent_presence",
        "scope": "Corporate network",
        "method": "Assumed breach",
        "started_on": "2026-06-01",
        "ended_on": "2026-05-01",
        "claim": "basic",
        "remediation": "open",
    }
    bad = client.post("/assessments/new/", form)
    assert bad.status_code == 422
    assert "threat_models.0.ended_on" in bad.content.decode()
    form["ended_on"] = "2026-06-05"
    response = client.post("/assessments/new/", form)
    assert response.status_code == 302
    assessment = Assessment.objects.get(title="Web draft")
    assert Client().get(f"/assessments/{assessment.pk}/").status_code == 404
    client.post(f"/assessments/{assessment.pk}/publish/")
    assert Client().get(f"/assessments/{assessment.pk}/").status_code == 200
