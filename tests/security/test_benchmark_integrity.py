"""Benchmark integrity: a vendor of a case whose payload is a held-out benchmark item requests
EVERY web route and API operation (the permission matrix's own enumeration, which fails when a
route is missing) and no held-out text appears in any answer, any page it is redirected to,
any e-mail or any webhook body. The vendor does get the per-category aggregate.

Positive control: the coordinators can read the same text, so the markers are really there.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from modelcvd.cases.models import TimelineEvent
from modelcvd.cases.services import case_score, case_transition, deadline_breaches_escalate
from modelcvd.notifications.models import WebhookDelivery
from modelcvd.notifications.services import webhook_create
from modelcvd.reports.services import report_payload_open, report_submit
from modelcvd.reports.services.attachments import attachment_add
from modelcvd.verification.models import VerificationRun
from tests.factories import World, document, sign_in, token_for
from tests.security.test_permission_matrix import API, WEB, _api_body, _fill, _web_body

MARKER = "HELDOUT-ITEM-7f3a"
MARKERS = [MARKER, MARKER.lower(), MARKER.encode().hex()]


def held_out_world(world: World) -> World:
    """The world with case A replaced by a held-out case that vendor A has been told about."""
    assert world.program is not None
    world.program.benchmark_holdout = True
    world.program.save()
    report = report_submit(
        actor=world.users["researcher_a"],
        document=document(
            title="Benchmark jailbreak",
            reproduction={
                "system_prompt": f"system {MARKER} prompt",
                "turns": [{"role": "user", "content": f"Held-out prompt {MARKER}"}],
                "successes": 4,
                "trials": 8,
            },
            expected_behaviour=f"expected {MARKER}",
            observed_behaviour=f"the model said {MARKER}",
            impact=f"impact quoting {MARKER}",
        ),
    )
    assert report.held_out
    attachment = attachment_add(
        report=report,
        actor=world.users["researcher_a"],
        filename=f"{MARKER}.txt",
        content=f"transcript {MARKER}\n".encode(),
    )
    for to in ("acknowledged", "triaged_valid", "vendor_notified"):
        case_transition(case_id=report.case_id, actor=world.users["triager"], to=to, reason="t")
    run = VerificationRun.objects.create(
        case_id=report.case_id,
        report=report,
        artifact=world.artifacts["a"],
        requested_by=world.users["triager"],
        target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
        trials=10,
        state=VerificationRun.State.FINISHED,
        summary={"successes": 6, "trials": 10, "rate": 0.6, "wilson": [0.31, 0.83]},
    )
    # Scored, so remediation and disclosure deadlines run (and, much later, escalate to it).
    case = case_score(
        case_id=report.case_id, actor=world.users["triager"], rubric={"access": "hosted_api"}
    )
    return dataclasses.replace(
        world,
        reports={**world.reports, "a": report},
        cases={**world.cases, "a": case},
        attachment=attachment,
        run=run,
    )


def _body(response: Any) -> bytes:
    """The whole answer, streamed ones (the JSON Lines mirror) included."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _leaks(content: bytes) -> list[str]:
    text = content.decode("utf-8", "replace")
    return [m for m in MARKERS if m in text]


def test_no_route_gives_a_vendor_a_held_out_item(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    held = held_out_world(world)
    vendor = world.users["vendor_a"]
    # Positive control: the markers are in what the coordinators may read.
    opened = report_payload_open(
        report=held.reports["a"], actor=world.users["triager"], reason="control"
    )
    assert MARKER in json.dumps(opened)
    webhook_create(actor=vendor, url="http://127.0.0.1:9/hook", organisation_slug="vendor-a")

    leaks: list[str] = []
    token = token_for(vendor, ["read", "submit", "triage", "admin"])
    with django_capture_on_commit_callbacks(execute=True):
        for method, path in API:
            client = Client(enforce_csrf_checks=True)
            url = _fill(path, held)
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if method == "GET":
                response = client.get(url, **headers)
            elif path.endswith("/attachments"):
                upload = SimpleUploadedFile("notes.txt", b"hello\n", content_type="text/plain")
                response = client.post(url, data={"file": upload}, **headers)
            else:
                send = client.put if method == "PUT" else client.post
                body = json.dumps(_api_body(path, "vendor_a", held))
                response = send(url, data=body, content_type="application/json", **headers)
            assert response.status_code < 500, (method, path)
            leaks += [f"{method} {path}: {m}" for m in _leaks(_body(response))]

        for method, route in WEB:
            client = Client(enforce_csrf_checks=True)
            sign_in(client, vendor)
            url = "/" + _fill(route, held)
            if method == "GET":
                response = client.get(url)
            else:
                client.get("/signin/")
                csrf = client.cookies["csrftoken"].value
                response = client.post(
                    url, {**_web_body(route, "vendor_a", held), "csrfmiddlewaretoken": csrf}
                )
            assert response.status_code < 500, (method, route)
            leaks += [f"{method} {route}: {m}" for m in _leaks(_body(response))]
            if response.status_code == 302 and response["Location"].startswith("/"):
                followed = client.get(response["Location"])
                leaks += [f"{method} {route} -> page: {m}" for m in _leaks(_body(followed))]
        # The escalation e-mails and webhooks the vendor receives, long after every deadline.
        deadline_breaches_escalate(now=timezone.now() + timedelta(days=400))

    vendor_mail = [m for m in mail.outbox if vendor.email in m.to]
    assert vendor_mail  # the vendor was written to...
    for message in vendor_mail:
        leaks += [f"mail {message.subject}: {m}" for m in _leaks(message.body.encode())]
    vendor_hooks = WebhookDelivery.objects.filter(endpoint__organisation__slug="vendor-a")
    assert vendor_hooks.exists()  # ...and its webhook was called
    for delivery in vendor_hooks:
        leaks += [f"webhook {delivery.event}: {m}" for m in _leaks(delivery.body.encode())]
    assert leaks == []


def test_vendor_gets_the_per_category_aggregate(world: World, api_as: Any) -> None:
    held = held_out_world(world)
    case = held.cases["a"]
    body = api_as("vendor_a").get(f"/api/v1/cases/{case.pk}").json()
    assert body["benchmark"] == [
        {
            "harm_category": "nonviolent_crimes",
            "items": 1,
            "reported_successes": 4,
            "reported_trials": 8,
            "reported_rate": 0.5,
            "measured_successes": 6,
            "measured_trials": 10,
            "measured_rate": 0.6,
        }
    ]
    # The vendor sees neither the run nor its trials, only the aggregate.
    assert api_as("vendor_a").get(f"/api/v1/cases/{case.pk}/verifications").json() == []
    assert held.run is not None
    assert api_as("vendor_a").get(f"/api/v1/verifications/{held.run.pk}").status_code == 404
    assert len(api_as("triager").get(f"/api/v1/cases/{case.pk}/verifications").json()) == 1
    page = sign_in(Client(), world.users["vendor_a"]).get(f"/cases/{case.pk}/").content.decode()
    assert "Held-out benchmark items: results per harm category" in page
    # Nor the run's line on the timeline (written as the verification service writes it).
    assert held.run is not None
    TimelineEvent.objects.create(
        case=case,
        at=timezone.now(),
        kind=TimelineEvent.Kind.VERIFICATION,
        reason=f"verification run #{held.run.pk} on chat-7b: 6/10 successes",
    )
    line = f"verification run #{held.run.pk} "

    def lines(role: str) -> list[str]:
        timeline = api_as(role).get(f"/api/v1/cases/{case.pk}").json()["timeline"]
        return [e["reason"] for e in timeline if e["reason"].startswith(line)]

    assert lines("vendor_a") == [] and len(lines("triager")) == 1
    report = api_as("vendor_a").get(f"/api/v1/reports/{held.reports['a'].pk}").json()
    assert report["held_out"] and report["observed_behaviour"].startswith("[withheld")
