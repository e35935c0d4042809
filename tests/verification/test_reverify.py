"""Researcher re-verification after a fix is announced, and agreement on the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import TimelineEvent
from modelcvd.cases.services import FixedVersion, case_transition
from modelcvd.core.models import AuditEvent
from modelcvd.verification.models import VerificationRun
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db

STAFF_TARGET = "openai:http://127.0.0.1:9/v1#chat-7b-fixed"


@pytest.fixture
def fixed(world: World) -> Artifact:
    """Case A with a fix announced: a new revision of vendor A's model, fix_available."""
    case_id = world.cases["a"].pk
    vendor = world.users["vendor_a"]
    case_transition(case_id=case_id, actor=vendor, to="remediating", reason="fix")
    # The fix step names the new version, which registers it.
    case_transition(
        case_id=case_id,
        actor=vendor,
        to="fix_available",
        reason="fix",
        fixed_version=FixedVersion(revision="c" * 40),
    )
    return Artifact.objects.get(provider="vendor-a", name="chat-7b", revision="c" * 40)


def _staff_run(world: World, artifact: Artifact) -> VerificationRun:
    return VerificationRun.objects.create(
        case=world.cases["a"],
        report=world.reports["a"],
        artifact=artifact,
        requested_by=world.users["triager"],
        target_uri=STAFF_TARGET,
        trials=10,
    )


def test_reporter_reverifies_on_the_fixed_version(
    world: World, fixed: Artifact, api_as: Any
) -> None:
    _staff_run(world, fixed)
    url = f"/api/v1/cases/{world.cases['a'].pk}/reverifications"
    response = api_as("researcher_a").post(url, {"artifact_id": fixed.pk, "trials": 20})
    assert response.status_code == 201, response.content
    run = VerificationRun.objects.get(pk=response.json()["id"])
    # The coordinators' target for this version, the reporter's own report, queued.
    assert run.target_uri == STAFF_TARGET
    assert run.report_id == world.reports["a"].pk
    assert run.requested_by == world.users["researcher_a"]
    assert run.state == "queued"
    event = world.cases["a"].timeline.get(kind=TimelineEvent.Kind.REVERIFICATION)
    assert f"run #{run.pk}" in event.reason
    assert AuditEvent.objects.filter(action="verification.reverify").count() == 1
    # The reporter follows their run like any run of their case.
    assert api_as("researcher_a").get(f"/api/v1/verifications/{run.pk}").status_code == 200


def test_reverification_rules(world: World, fixed: Artifact, api_as: Any, tmp_path: Path) -> None:
    url = f"/api/v1/cases/{world.cases['a'].pk}/reverifications"
    reporter = api_as("researcher_a")

    def field_of(body: dict[str, Any]) -> str:
        r = reporter.post(url, body)
        assert r.status_code == 422, r.content
        return str(r.json()["errors"][0]["field"])

    # An affected artifact is not a fix; another vendor's model is not a version of it.
    assert field_of({"artifact_id": world.artifacts["a"].pk, "trials": 5}) == "artifact_id"
    assert field_of({"artifact_id": world.artifacts["b"].pk, "trials": 5}) == "artifact_id"
    # No coordinator run on the fixed version yet: the reporter must name a target...
    assert field_of({"artifact_id": fixed.pk, "trials": 5}) == "target"
    # ...and may not point the workers at an arbitrary endpoint.
    body = {"artifact_id": fixed.pk, "trials": 5, "target": "openai:http://10.0.0.1/v1#m"}
    assert field_of(body) == "target"
    assert field_of({"artifact_id": fixed.pk, "trials": 0}) == "trials"
    for role, status in (("vendor_a", 403), ("triager", 403), ("researcher_b", 404)):
        r = api_as(role).post(url, {"artifact_id": fixed.pk, "trials": 5})
        assert r.status_code == status, role


def test_not_before_a_fix_is_announced(world: World, api_as: Any) -> None:
    case_id = world.cases["a"].pk
    r = api_as("researcher_a").post(
        f"/api/v1/cases/{case_id}/fix-opinion", {"agrees": True, "statement": "looks fixed"}
    )
    assert r.status_code == 409
    assert "no fix has been announced" in r.json()["detail"]


def test_reporter_records_agreement_and_disagreement(
    world: World, fixed: Artifact, api_as: Any
) -> None:
    run = _staff_run(world, fixed)
    url = f"/api/v1/cases/{world.cases['a'].pk}/fix-opinion"
    agree = api_as("researcher_a").post(
        url, {"agrees": True, "statement": "0/20 on the new revision", "run_id": run.pk}
    )
    assert agree.status_code == 201
    assert agree.json()["kind"] == "fix_confirmed"
    disagree = api_as("researcher_a").post(
        url, {"agrees": False, "statement": "a paraphrase still works"}
    )
    assert disagree.json()["kind"] == "fix_disputed"
    kinds = list(world.cases["a"].timeline.values_list("kind", flat=True))
    assert kinds[-2:] == ["fix_confirmed", "fix_disputed"]
    timeline = api_as("vendor_a").get(f"/api/v1/cases/{world.cases['a'].pk}").json()["timeline"]
    assert timeline[-1]["actor"] == "nightjar"
    assert "a paraphrase still works" in timeline[-1]["reason"]
    # A run of another case is not evidence here (and is not revealed).
    other = VerificationRun.objects.create(
        case=world.cases["b"],
        report=world.reports["b"],
        artifact=world.artifacts["b"],
        requested_by=world.users["triager"],
        target_uri=STAFF_TARGET,
        trials=1,
    )
    r = api_as("researcher_a").post(url, {"agrees": True, "statement": "x", "run_id": other.pk})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "run_id"
    r = api_as("researcher_a").post(url, {"agrees": True, "statement": "   "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "statement"


def test_case_page_offers_the_forms_to_the_reporter_only(world: World, fixed: Artifact) -> None:
    _staff_run(world, fixed)
    case_url = f"/cases/{world.cases['a'].pk}/"
    reporter = sign_in(Client(), world.users["researcher_a"])
    page = reporter.get(case_url).content.decode()
    assert "Re-verify the fix" in page and str(fixed) in page
    reporter.get("/signin/")
    token = reporter.cookies["csrftoken"].value
    response = reporter.post(
        f"{case_url}fix-opinion/",
        {"agrees": "no", "statement": "still jailbreaks", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert world.cases["a"].timeline.filter(kind="fix_disputed").exists()
    response = reporter.post(
        f"{case_url}reverify/",
        {"artifact_id": str(fixed.pk), "trials": "5", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert VerificationRun.objects.filter(requested_by=world.users["researcher_a"]).count() == 1
    vendor = sign_in(Client(), world.users["vendor_a"])
    assert "Re-verify the fix" not in vendor.get(case_url).content.decode()
