"""Benchmark integrity: a vendor of a case whose payload is a held-out benchmark item requests
EVERY web route and API operation (the permission matrix's own enumeration, which fails when a
route is missing) and no held-out text appears in any answer, any page it is redirected to,
any e-mail or any webhook body. The vendor does get the per-category aggregate.

Numbers too (issue 15, defect 11): the case holds two held-out items of one harm category, each
with its own distinctive reported successes/trials, sampling settings and verification run, and
it is scored with the measured reproducibility as the API scores it. No item's k/n, sampling
setting, run result or a reproducibility bound computed from one item's run appears anywhere
the vendor can reach; the pooled per-category figures may.

Positive control: the coordinators can read the same text, so the markers are really there.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from modelcvd.cases.models import TimelineEvent
from modelcvd.cases.services import (
    FixedVersion,
    case_score,
    case_transition,
    deadline_breaches_escalate,
)
from modelcvd.notifications.models import WebhookDelivery
from modelcvd.notifications.services import webhook_create
from modelcvd.reports.services import report_payload_open, report_submit
from modelcvd.reports.services.attachments import attachment_add
from modelcvd.verification.engine.stats import clopper_pearson_interval, wilson_interval
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import measured_reproducibility
from modelcvd.verification.services.reverify import fix_opinion_record
from tests.factories import World, document, sign_in, token_for
from tests.security.test_permission_matrix import API, WEB, _api_body, _fill, _web_body

MARKER = "HELDOUT-ITEM-7f3a"
MARKERS = [MARKER, MARKER.lower(), MARKER.encode().hex()]

# Two held-out items of one category, with numbers that appear nowhere else.
ITEMS = [
    {
        "reported": (4731, 8629),
        "sampling": {"temperature": 0.613, "top_p": 0.877, "max_tokens": 3517, "seed": 862417},
        "measured": (5839, 9421),
    },
    {
        "reported": (2953, 7411),
        "sampling": {"temperature": 0.389, "top_p": 0.791, "max_tokens": 2743, "seed": 519063},
        "measured": (3167, 6703),
    },
]


def _summary(successes: int, trials: int) -> dict[str, Any]:
    low, high = (float(x) for x in wilson_interval(successes, trials))
    exact = [float(x) for x in clopper_pearson_interval(successes, trials)]
    return {
        "successes": successes,
        "trials": trials,
        "rate": round(successes / trials, 4),
        "wilson": [low, high],
        "clopper_pearson": exact,
        "verdict": "reproduced",
    }


def _item_numbers() -> list[str]:
    """What would single out an item: its counts, its sampling settings, its run's numbers."""
    numbers: list[str] = []
    for item in ITEMS:
        numbers += [str(n) for n in (*item["reported"], *item["measured"])]
        numbers += [str(v) for v in item["sampling"].values()]
        run = _summary(*item["measured"])
        for value in (run["rate"], *run["wilson"], *run["clopper_pearson"]):
            numbers += [f"{value:g}", f"{value:.4f}", f"{value:.3f}"]
    return sorted(set(numbers))


NUMBERS = _item_numbers()


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
    first = ITEMS[0]
    report.successes, report.trials = first["reported"]
    report.sampling = first["sampling"]
    report.save(update_fields=["successes", "trials", "sampling"])
    # A second held-out item of the same category in the same case (as a merge leaves it).
    second_item = ITEMS[1]
    second = report_submit(
        actor=world.users["researcher_a"],
        document=document(
            title="Benchmark jailbreak, second item",
            reproduction={
                "turns": [{"role": "user", "content": f"Second held-out prompt {MARKER}"}],
                "sampling": second_item["sampling"],
                "successes": second_item["reported"][0],
                "trials": second_item["reported"][1],
            },
            observed_behaviour=f"it said {MARKER}",
        ),
    )
    second.case_id = report.case_id
    second.save(update_fields=["case"])
    attachment = attachment_add(
        report=report,
        actor=world.users["researcher_a"],
        filename=f"{MARKER}.txt",
        content=f"transcript {MARKER}\n".encode(),
    )
    for to in ("acknowledged", "triaged_valid", "vendor_notified"):
        case_transition(case_id=report.case_id, actor=world.users["triager"], to=to, reason="t")
    runs = [
        VerificationRun.objects.create(
            case_id=report.case_id,
            report=item_report,
            artifact=world.artifacts["a"],
            requested_by=world.users["triager"],
            target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
            trials=item["measured"][1],
            state=VerificationRun.State.FINISHED,
            finished_at=timezone.now() + timedelta(seconds=i),
            summary=_summary(*item["measured"]),
        )
        for i, (item_report, item) in enumerate([(report, first), (second, second_item)])
    ]
    run = runs[0]
    # Scored as the API scores it, so remediation and disclosure deadlines run (and, much
    # later, escalate to it) and the severity explanation carries the measured reproducibility.
    case = case_score(
        case_id=report.case_id,
        actor=world.users["triager"],
        rubric={"access": "hosted_api"},
        measured=measured_reproducibility(case_id=report.case_id),
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
    found = [m for m in MARKERS if m in text]
    return found + [n for n in NUMBERS if re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", text)]


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
    # ...and the numbers are in what they read too.
    control = Client()
    sign_in(control, world.users["triager"])
    report_page = _body(control.get(f"/reports/{held.reports['a'].pk}/"))
    assert "4731" in _leaks(report_page) and "862417" in _leaks(report_page)
    assert "9421" in _leaks(_body(control.get(f"/cases/{held.cases['a'].pk}/")))
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
            "items": 2,
            "reported_successes": 4731 + 2953,
            "reported_trials": 8629 + 7411,
            "reported_rate": round((4731 + 2953) / (8629 + 7411), 4),
            "measured_successes": 5839 + 3167,
            "measured_trials": 9421 + 6703,
            "measured_rate": round((5839 + 3167) / (9421 + 6703), 4),
        }
    ]
    # The severity explanation states the pooled, per-category figure, not one run's bound.
    explanation = body["severity"]["explanation"]
    assert "held-out benchmark items, 9006/16124 successes pooled" in explanation
    assert "verification run #" not in explanation
    # The vendor sees neither the run nor its trials, only the aggregate.
    assert api_as("vendor_a").get(f"/api/v1/cases/{case.pk}/verifications").json() == []
    mine = api_as("vendor_a").get(f"/api/v1/reports/{held.reports['a'].pk}").json()
    assert (mine["successes"], mine["trials"], mine["sampling"]) == (None, None, {})
    assert held.run is not None
    assert api_as("vendor_a").get(f"/api/v1/verifications/{held.run.pk}").status_code == 404
    assert len(api_as("triager").get(f"/api/v1/cases/{case.pk}/verifications").json()) == 2
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


def test_a_reporters_fix_opinion_on_a_held_out_run_gives_the_vendor_no_numbers(
    world: World, api_as: Any
) -> None:
    held = held_out_world(world)
    case = held.cases["a"]
    case_transition(case_id=case.pk, actor=world.users["triager"], to="remediating", reason="t")
    case_transition(
        case_id=case.pk,
        actor=world.users["triager"],
        to="fix_available",
        reason="t",
        fixed_version=FixedVersion(revision="c" * 40),
    )
    assert held.run is not None
    fix_opinion_record(
        case_id=case.pk,
        actor=world.users["researcher_a"],
        agrees=True,
        statement="fixed",
        run_id=held.run.pk,
    )
    timeline = api_as("vendor_a").get(f"/api/v1/cases/{case.pk}").json()["timeline"]
    opinion = [e["reason"] for e in timeline if e["reason"].startswith("agrees")]
    assert len(opinion) == 1 and "held-out benchmark item" in opinion[0]
    assert _leaks(json.dumps(timeline).encode()) == []
