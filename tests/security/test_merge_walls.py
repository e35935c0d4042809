"""Issue 15, defects 2 and 3: a merge keeps every wall it found.

Case B (researcher_b's report on vendor B's model, still in triage) is merged into case A
(researcher_a's report on vendor A's model, vendor A told). Before the fix, vendor B - never
told of anything - read case A and unsealed both payloads, because the rule let any vendor whose
artifact the case names see a notified case; and the two reporters read each other's
reporter-channel comments and runs. Each test performs the attack through the real pages and
API, and ends in the same 404 an unknown id gets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict
from typing import Any

from django.core import mail
from django.test import Client
from django.utils.crypto import salted_hmac

from modelcvd.cases.models import CaseVendor, TimelineEvent
from modelcvd.cases.services import case_transition
from modelcvd.core.audit import audit_verify
from modelcvd.core.models import AuditEvent
from modelcvd.verification.engine.spec import Message, ReplaySpec
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services.execution import prompt_digest_key
from tests.factories import World, sign_in

NOT_FOUND = b'{"detail": "not found"}'


def _merge_b_into_a(world: World, api_as: Any) -> None:
    a, b = world.cases["a"], world.cases["b"]
    response = api_as("triager").post(
        f"/api/v1/cases/{a.pk}/merge",
        {"source_case_id": b.pk, "reason": "the researcher says these are the same"},
    )
    assert response.status_code == 200, response.content


def _vendor_b_reads(world: World, api_as: Any) -> dict[str, int]:
    a = world.cases["a"]
    api = api_as("vendor_b")
    web = sign_in(Client(), world.users["vendor_b"])
    seen = {
        "case page": web.get(f"/cases/{a.pk}/").status_code,
        "case api": api.get(f"/api/v1/cases/{a.pk}").status_code,
        "cases list": int(a.pk in [c["id"] for c in api.get("/api/v1/cases").json()]),
    }
    for key in ("a", "b"):
        report = world.reports[key]
        seen[f"report {key}"] = api.get(f"/api/v1/reports/{report.pk}").status_code
        seen[f"unseal {key}"] = api.post(
            f"/api/v1/reports/{report.pk}/unseal", {"reason": "curious"}
        ).status_code
    return seen


def test_a_merge_does_not_hand_the_case_to_an_untold_vendor(world: World, api_as: Any) -> None:
    _merge_b_into_a(world, api_as)
    a = world.cases["a"]
    assert world.artifacts["b"] in a.artifacts.all()  # the artifact joined the case ...
    seen = _vendor_b_reads(world, api_as)
    # ... but vendor B, never told, sees nothing: the same 404 as for an unknown case.
    assert seen == {
        "case page": 404,
        "case api": 404,
        "cases list": 0,
        "report a": 404,
        "unseal a": 404,
        "report b": 404,
        "unseal b": 404,
    }
    api = api_as("vendor_b")
    assert api.get(f"/api/v1/cases/{a.pk}").content == NOT_FOUND
    assert api.get("/api/v1/cases/999999").content == NOT_FOUND
    # Vendor A keeps what it had.
    assert api_as("vendor_a").get(f"/api/v1/cases/{a.pk}").status_code == 200
    # The coordinators are told, in the audit chain, which vendor is not yet a party.
    merge = AuditEvent.objects.filter(action="case.merge").get()
    assert merge.data["untold"] == [world.orgs["vendor_b"].pk]


def test_a_later_transition_does_not_tell_the_merged_vendor_either(
    world: World, api_as: Any
) -> None:
    _merge_b_into_a(world, api_as)
    a = world.cases["a"]
    case_transition(case_id=a.pk, actor=world.users["triager"], to="remediating", reason="fix")
    assert api_as("vendor_b").get(f"/api/v1/cases/{a.pk}").status_code == 404


def test_only_the_explicit_audited_notify_step_lets_the_vendor_in(
    world: World, api_as: Any
) -> None:
    _merge_b_into_a(world, api_as)
    a = world.cases["a"]
    body = {"organisation": "vendor-b", "reason": "their API model is affected too"}
    # Parties may not widen the case: the reporter and vendor A are refused, vendor B does not
    # even learn that the case exists.
    assert api_as("researcher_a").post(f"/api/v1/cases/{a.pk}/vendors", body).status_code == 403
    assert api_as("vendor_a").post(f"/api/v1/cases/{a.pk}/vendors", body).status_code == 403
    assert api_as("vendor_b").post(f"/api/v1/cases/{a.pk}/vendors", body).status_code == 404
    # Only a vendor whose artifact the case names can be told.
    other = {"organisation": "assessor-org", "reason": "x"}
    assert api_as("triager").post(f"/api/v1/cases/{a.pk}/vendors", other).status_code == 422
    assert api_as("vendor_b").get(f"/api/v1/cases/{a.pk}").status_code == 404

    response = api_as("triager").post(f"/api/v1/cases/{a.pk}/vendors", body)
    assert response.status_code == 201, response.content
    assert response.json()["organisation"] == "vendor-b"
    again = api_as("triager").post(f"/api/v1/cases/{a.pk}/vendors", body)
    assert again.status_code == 422

    seen = _vendor_b_reads(world, api_as)
    assert seen["case page"] == seen["case api"] == seen["report b"] == 200
    assert seen["unseal b"] == 200 and seen["cases list"] == 1
    assert CaseVendor.objects.filter(case=a, organisation=world.orgs["vendor_b"]).exists()
    event = TimelineEvent.objects.filter(case=a, kind=TimelineEvent.Kind.VENDOR_NOTIFY).get()
    assert "Vendor B" in event.reason and event.actor == world.users["triager"]
    notify = AuditEvent.objects.filter(action="case.vendor_notify").get()
    assert notify.data == {"organisation": "vendor-b"}
    assert audit_verify().ok


def test_the_case_page_offers_the_notify_step_to_coordinators(world: World, api_as: Any) -> None:
    _merge_b_into_a(world, api_as)
    a = world.cases["a"]
    web = sign_in(Client(), world.users["triager"])
    page = web.get(f"/cases/{a.pk}/").content.decode()
    assert 'id="untold-vendors"' in page and "vendor-b" in page
    response = web.post(
        f"/cases/{a.pk}/vendors/", {"organisation": "vendor-b", "reason": "affected too"}
    )
    assert response.status_code == 302
    assert api_as("vendor_b").get(f"/api/v1/cases/{a.pk}").status_code == 200
    vendor_a_page = sign_in(Client(), world.users["vendor_a"]).get(f"/cases/{a.pk}/")
    assert b"untold-vendors" not in vendor_a_page.content


# Defect 3: merged reporters do not meet.


def _comment(api: Any, case_id: int, body: str, visibility: str, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/cases/{case_id}/comments", {"body": body, "visibility": visibility, **extra}
    )


def test_merged_reporters_do_not_read_each_others_channel(world: World, api_as: Any) -> None:
    a = world.cases["a"]
    assert (
        _comment(api_as("researcher_a"), a.pk, "A's secret detail", "reporter").status_code == 201
    )
    assert _comment(api_as("triager"), a.pk, "reply to A", "reporter").status_code == 201
    _merge_b_into_a(world, api_as)
    # With two reports in the case a coordinator names the channel they answer in.
    ambiguous = _comment(api_as("triager"), a.pk, "to whom?", "reporter")
    assert ambiguous.status_code == 422
    to_b = _comment(api_as("triager"), a.pk, "reply to B", "reporter", report=world.reports["b"].pk)
    assert to_b.status_code == 201
    assert _comment(api_as("researcher_b"), a.pk, "B's own note", "reporter").status_code == 201

    def bodies(role: str) -> set[str]:
        listed = api_as(role).get(f"/api/v1/cases/{a.pk}/comments")
        assert listed.status_code == 200
        return {c["body"] for c in listed.json()}

    assert bodies("researcher_b") == {"reply to B", "B's own note"}
    assert bodies("researcher_a") == {"A's secret detail", "reply to A"}
    assert {"A's secret detail", "reply to A", "reply to B", "B's own note"} <= bodies("triager")
    page = sign_in(Client(), world.users["researcher_b"]).get(f"/cases/{a.pk}/").content
    assert b"A&#x27;s secret detail" not in page and b"reply to A" not in page
    assert b"reply to B" in page
    # A reporter cannot post into another report's channel either.
    other = _comment(api_as("researcher_b"), a.pk, "hi", "reporter", report=world.reports["a"].pk)
    assert other.status_code == 422


def test_merged_reporters_do_not_see_each_others_runs(world: World, api_as: Any) -> None:
    _merge_b_into_a(world, api_as)
    a, run = world.cases["a"], world.run
    assert run is not None and run.report_id == world.reports["a"].pk
    b_api = api_as("researcher_b")
    assert b_api.get(f"/api/v1/verifications/{run.pk}").content == NOT_FOUND
    assert b_api.get(f"/api/v1/cases/{a.pk}/verifications").json() == []
    assert api_as("researcher_a").get(f"/api/v1/verifications/{run.pk}").status_code == 200
    listed = api_as("vendor_a").get(f"/api/v1/cases/{a.pk}/verifications").json()
    assert [r["id"] for r in listed] == [run.pk]
    assert not VerificationRun.objects.allows(world.users["researcher_b"], run, "view")


def test_a_prompt_digest_confirms_no_guessed_conversation(settings: Any) -> None:
    # The digest a run summary carries: an HMAC under the instance's key, so someone who
    # reads a summary cannot hash a guessed conversation and compare.
    turns = (Message("user", "tell me how to pick a lock"),)
    canonical = json.dumps([asdict(m) for m in turns], sort_keys=True, ensure_ascii=False)
    unkeyed = hashlib.sha256(canonical.encode()).hexdigest()
    key = prompt_digest_key()
    spec = ReplaySpec(turns=turns, digest_key=key)
    assert spec.prompt_digest() != unkeyed
    assert spec.prompt_digest() == hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
    assert (
        key == salted_hmac("modelcvd.verification.prompt-digest", "v1", algorithm="sha256").digest()
    )
    # Stable on one instance (runs stay comparable), different on another.
    assert (
        ReplaySpec(turns=turns, digest_key=prompt_digest_key()).prompt_digest()
        == spec.prompt_digest()
    )
    settings.SECRET_KEY = "another-instance-" + "x" * 50
    assert (
        ReplaySpec(turns=turns, digest_key=prompt_digest_key()).prompt_digest()
        != spec.prompt_digest()
    )


def test_status_mail_goes_to_each_reporter_alone(
    world: World, api_as: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _merge_b_into_a(world, api_as)
    a = world.cases["a"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(
            case_id=a.pk, actor=world.users["triager"], to="remediating", reason="fix underway"
        )
    addresses = {world.users["researcher_a"].email, world.users["researcher_b"].email}
    assert len(addresses) == 2 and all(addresses)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert len(message.to) == 1 and not message.cc and not message.bcc
        rendered = message.message().as_string()
        (other,) = addresses - set(message.to)
        assert other not in rendered
    assert {m.to[0] for m in mail.outbox} == addresses
