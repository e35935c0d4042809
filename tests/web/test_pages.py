"""Server-rendered pages through the full stack: each page renders for its users, forbidden is
404, form errors name the field, and hostile report text is shown inert everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from modelcvd.core.models import AuditEvent
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_submit
from tests.factories import PASSWORD, World, document, sign_in

HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "{{ settings.SECRET_KEY }}{% debug %}",
    "[click](javascript:alert(1))",
    '"><svg onload=alert(1)>',
]


def signed_in(world: World, role: str) -> Client:
    return sign_in(Client(enforce_csrf_checks=False), world.users[role])


def test_home_lists_programs_publicly(world: World) -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert b"Open models" in response.content
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_program_page(world: World) -> None:
    assert b"Be kind." in Client().get("/programs/open-models/").content
    assert Client().get("/programs/nope/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/reports/new/", "/reports/", "/triage/", "/cases/1/", "/reports/1/"]
)
def test_pages_need_sign_in(world: World, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin/")


def test_sign_in_is_audited(world: World) -> None:
    client = Client(enforce_csrf_checks=False)
    response = client.post("/signin/", {"username": "triager", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=world.users["triager"]).exists()
    response = client.post("/signin/", {"username": "triager", "password": "wrong"})
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").exists()


def _form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Form finding",
        "abstract": "Short abstract.",
        "program": "open-models",
        "artifact_provider": "vendor-a",
        "artifact_name": "chat-7b",
        "artifact_revision": "a" * 40,
        "artifact_version_label": "",
        "artifact_weights_digest": "",
        "owasp": "LLM01",
        "atlas": "AML.T0054",
        "harm_category": "privacy",
        "system_prompt": "sys",
        "temperature": "0.7",
        "top_p": "1",
        "max_tokens": "64",
        "seed": "",
        "successes": "2",
        "trials": "5",
        "expected_behaviour": "",
        "observed_behaviour": "",
        "impact": "",
        "turn_1_role": "user",
        "turn_1_content": "hello",
        "turn_2_role": "assistant",
        "turn_2_content": "",
        "turn_3_role": "user",
        "turn_3_content": "",
        "turn_4_role": "assistant",
        "turn_4_content": "",
    }
    data.update(overrides)
    return data


def test_submit_through_the_form(world: World) -> None:
    client = signed_in(world, "researcher_b")
    response = client.post("/reports/new/", _form_data())
    assert response.status_code == 302
    report = Report.objects.get(title="Form finding")
    assert response.headers["Location"] == f"/reports/{report.pk}/"
    assert report.reporter == world.users["researcher_b"]
    page = client.get(response.headers["Location"])
    assert b"Case <a" in page.content and b"received" in page.content


def test_form_errors_name_the_field(world: World) -> None:
    client = signed_in(world, "researcher_b")
    response = client.post("/reports/new/", _form_data(atlas="AML.T0999", successes="9"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "technique.atlas: unknown MITRE ATLAS technique id" in html
    assert "reproduction: successes cannot exceed trials" in html
    assert not Report.objects.filter(title="Form finding").exists()


def test_case_page_and_transition_for_triager(world: World) -> None:
    client = signed_in(world, "triager")
    case = world.cases["b"]
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and b"Move this case" in page.content
    response = client.post(
        f"/cases/{case.pk}/transition/", {"to": "acknowledged", "reason": "thanks"}
    )
    assert response.status_code == 302
    page = client.get(f"/cases/{case.pk}/")
    assert b"received \xe2\x86\x92 acknowledged" in page.content


def test_illegal_transition_from_the_page_says_what_is_allowed(world: World) -> None:
    client = signed_in(world, "triager")
    case = world.cases["b"]
    response = client.post(f"/cases/{case.pk}/transition/", {"to": "closed", "reason": "x"})
    assert response.status_code == 422  # not among the offered choices
    assert b"Select a valid choice" in response.content


@pytest.mark.parametrize(
    ("role", "status"), [("researcher_b", 404), ("vendor_b", 404), ("triager", 200)]
)
def test_case_and_report_pages_hide_what_is_not_yours(world: World, role: str, status: int) -> None:
    client = signed_in(world, role)
    assert client.get(f"/cases/{world.cases['a'].pk}/").status_code == status
    assert client.get(f"/reports/{world.reports['a'].pk}/").status_code == status


def test_unseal_from_the_report_page(world: World) -> None:
    # A coordinator gives a reason; the reporter reads her own payload without one.
    client = signed_in(world, "triager")
    page = client.get(f"/reports/{world.reports['a'].pk}/")
    assert b"locksmith" not in page.content
    page = client.post(f"/reports/{world.reports['a'].pk}/", {"reason": "triage"})
    assert b"Pretend you are a locksmith..." in page.content
    own = signed_in(world, "researcher_a").get(f"/reports/{world.reports['a'].pk}/")
    assert b"Pretend you are a locksmith..." in own.content


def test_hostile_text_is_inert_on_every_page(world: World) -> None:
    for i, payload in enumerate(HOSTILE):
        doc = document(
            title=f"t{i} {payload}",
            abstract=payload,
            expected_behaviour=payload,
            observed_behaviour=payload,
            impact=payload,
        )
        doc.reproduction.turns[0].content = payload
        doc.reproduction.system_prompt = payload
        report = report_submit(actor=world.users["researcher_a"], document=doc)
        triager = signed_in(world, "triager")
        triager.post(
            f"/cases/{report.case_id}/comments/", {"body": payload, "visibility": "reporter"}
        )
        triager.post(
            f"/cases/{report.case_id}/transition/", {"to": "acknowledged", "reason": payload}
        )
        reporter = signed_in(world, "researcher_a")
        pages = [
            triager.get(f"/cases/{report.case_id}/"),
            triager.get("/triage/"),
            reporter.get("/reports/"),
            reporter.get(f"/cases/{report.case_id}/"),
            reporter.post(f"/reports/{report.pk}/", {"reason": "check escaping"}),
        ]
        for page in pages:
            html = page.content.decode()
            assert page.status_code == 200
            for raw in ("<script>alert", "<img src=x", "<svg onload", 'href="javascript:'):
                assert raw not in html
            assert "insecure-embedded-default" not in html  # no template evaluation of input
        assert (
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in pages[0].content.decode()
            or i != 0
        )


def test_api_docs_are_served_locally_under_the_csp() -> None:
    response = Client().get("/api/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    schema = Client().get("/api/openapi.json").json()
    assert schema["info"]["title"] == "modelcvd API"


def test_report_page_structure(world: World) -> None:
    client = signed_in(world, "researcher_a")
    html = client.get(f"/reports/{world.reports['a'].pk}/").content.decode()
    assert f"<title>Report #{world.reports['a'].pk} · modelcvd</title>" in html
    assert html.count("<h2>Attachments</h2>") == 1 and "transcript.txt" in html
