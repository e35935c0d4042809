"""The permission matrix: every web route (from the URL resolver) and every API operation
(from the OpenAPI schema), requested by every role on a fixed dataset, through the full
middleware stack with CSRF enforced. A route or operation without an entry here fails the
suite, so nothing is added without deciding who may use it.

Dataset (tests/factories.World): case A is researcher_a's report on vendor A's model, vendor A
notified; case B is researcher_b's report on vendor B's model, still in triage. Every
{id} below refers to case A, its report, or vendor A's artifact.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import ROLES as FACTORY_ROLES
from tests.factories import World, report_data, sign_in, token_for

ROLES = ["anonymous", *FACTORY_ROLES]


def row(
    anonymous: int,
    researcher_a: int,
    researcher_b: int,
    vendor_a: int,
    vendor_b: int,
    triager: int,
    defender: int,
    assessor: int,
    admin: int,
) -> dict[str, int]:
    return dict(
        zip(
            ROLES,
            (
                anonymous,
                researcher_a,
                researcher_b,
                vendor_a,
                vendor_b,
                triager,
                defender,
                assessor,
                admin,
            ),
            strict=True,
        )
    )


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, anonymous: int) -> dict[str, int]:
    return {**everyone(status), "anonymous": anonymous}


# Parties to case A: its reporter, the notified vendor, the coordinators and the admin.
CASE_A_READ_API = row(401, 200, 404, 200, 404, 200, 404, 404, 200)
CASE_A_READ_WEB = row(302, 200, 404, 200, 404, 200, 404, 404, 200)

API: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/v1/reports"): signed_in(201, anonymous=401),
    ("GET", "/api/v1/reports"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/reports/{report_id}"): CASE_A_READ_API,
    ("POST", "/api/v1/reports/{report_id}/unseal"): CASE_A_READ_API,
    ("GET", "/api/v1/cases"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/triage/queue"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/cases/{case_id}"): CASE_A_READ_API,
    # The vendor states its own progress (vendor_notified -> remediating); the reporter sees
    # the case but may not move it.
    ("POST", "/api/v1/cases/{case_id}/transition"): row(
        401, 403, 404, 200, 404, 200, 404, 404, 200
    ),
    ("GET", "/api/v1/cases/{case_id}/comments"): CASE_A_READ_API,
    ("POST", "/api/v1/cases/{case_id}/comments"): row(401, 201, 404, 201, 404, 201, 404, 404, 201),
    ("GET", "/api/v1/programs"): everyone(200),
    ("GET", "/api/v1/programs/{slug}"): everyone(200),
    ("GET", "/api/v1/artifacts"): everyone(200),
    ("GET", "/api/v1/artifacts/{artifact_id}"): everyone(200),
    ("POST", "/api/v1/artifacts"): row(401, 403, 403, 403, 403, 201, 403, 403, 201),
    ("GET", "/api/v1/reports/{report_id}/attachments"): CASE_A_READ_API,
    # The reporter and the coordinators attach; a notified vendor reads but does not add.
    ("POST", "/api/v1/reports/{report_id}/attachments"): row(
        401, 201, 404, 404, 404, 201, 404, 404, 201
    ),
    ("POST", "/api/v1/reports/{report_id}/attachments/{attachment_id}/download"): CASE_A_READ_API,
    ("POST", "/api/v1/cases/{case_id}/verifications"): row(
        401, 403, 404, 403, 404, 201, 404, 404, 201
    ),
    ("GET", "/api/v1/cases/{case_id}/verifications"): CASE_A_READ_API,
    ("GET", "/api/v1/cases/{case_id}/versions"): CASE_A_READ_API,
    ("GET", "/api/v1/verifications/{run_id}"): CASE_A_READ_API,
    ("POST", "/api/v1/verifications/{run_id}/cancel"): row(
        401, 403, 404, 403, 404, 200, 404, 404, 200
    ),
    ("GET", "/api/v1/me"): signed_in(200, anonymous=401),
    ("PUT", "/api/v1/me/identity"): signed_in(204, anonymous=401),
    # Nobody in the fixed dataset has sealed an identity yet: the caller's own is missing.
    ("POST", "/api/v1/me/identity/unseal"): signed_in(404, anonymous=401),
    # Advisories: {advisory_id} is a published advisory of case A (made on demand, below).
    # Reads are public (each at the reader's level); only the case's coordinators write, and a
    # party who can see the case or the published advisory is told 403, others 404.
    ("GET", "/api/v1/advisories"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}/revisions"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}/export/{fmt}"): everyone(200),
    ("POST", "/api/v1/cases/{case_id}/advisories"): row(
        401, 403, 404, 403, 404, 201, 404, 404, 201
    ),
    ("PATCH", "/api/v1/advisories/{advisory_id}"): row(401, 403, 403, 403, 403, 200, 403, 403, 200),
    ("POST", "/api/v1/advisories/{advisory_id}/transition"): row(
        401, 403, 403, 403, 403, 200, 403, 403, 200
    ),
}

WEB: dict[tuple[str, str], dict[str, int]] = {
    ("GET", ""): everyone(200),
    ("GET", "signin/"): everyone(200),
    ("POST", "signout/"): everyone(302),
    # The second sign-in step. Every session here is complete (staff verified, the others owe
    # no code), so the code page sends everyone on; enrolling is open to non-staff (optional)
    # and sends enrolled staff on. Anonymous callers go to the password page.
    ("GET", "signin/two-factor/"): everyone(302),
    ("POST", "signin/two-factor/"): everyone(302),
    ("GET", "signin/two-factor/setup/"): row(302, 200, 200, 200, 200, 302, 200, 200, 302),
    # No setup under way in this session (no key shown yet): back to the setup page.
    ("POST", "signin/two-factor/setup/"): everyone(302),
    ("GET", "programs/<slug:slug>/"): everyone(200),
    ("GET", "reports/new/"): signed_in(200, anonymous=302),
    ("GET", "reports/"): signed_in(200, anonymous=302),
    ("GET", "reports/<int:report_id>/"): CASE_A_READ_WEB,
    ("POST", "reports/<int:report_id>/attachments/"): row(
        302, 302, 404, 404, 404, 302, 404, 404, 302
    ),
    ("POST", "reports/<int:report_id>/attachments/<int:attachment_id>/"): row(
        302, 200, 404, 200, 404, 200, 404, 404, 200
    ),
    ("GET", "triage/"): signed_in(200, anonymous=302),
    ("GET", "cases/<int:case_id>/"): CASE_A_READ_WEB,
    # 422: the reporter is offered no transition, so any choice is invalid on the form.
    ("POST", "cases/<int:case_id>/transition/"): row(302, 422, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/comments/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    # The public registry: everyone reads, each at their own level on the advisory page.
    ("GET", "advisories/"): everyone(200),
    ("GET", "advisories/feed.atom"): everyone(200),
    ("GET", "advisories/export.jsonl"): everyone(200),
    ("GET", "advisories/<str:advisory_id>/"): everyone(200),
}
# Served by other means and checked elsewhere: the API (below, from its schema) and its docs.
WEB_ROUTES_COVERED_ELSEWHERE = {"api/"}


def _walk(patterns: list[Any], prefix: str = "") -> list[str]:
    routes = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if route in WEB_ROUTES_COVERED_ELSEWHERE:
                continue
            routes.extend(_walk(p.url_patterns, route))
        elif isinstance(p, URLPattern):
            routes.append(route)
    return routes


def test_every_web_route_has_a_matrix_entry() -> None:
    routes = set(_walk(get_resolver().url_patterns))
    assert routes == {route for _, route in WEB}


def test_every_api_operation_has_a_matrix_entry() -> None:
    schema = json.loads(Client().get("/api/openapi.json").content)
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations == set(API)


def _advisory_id(world: World) -> str:
    """A published advisory of case A, made the first time a route needs one."""
    from modelcvd.advisories.models import Advisory
    from tests.advisories.helpers import make_advisory

    existing = Advisory.objects.filter(case=world.cases["a"]).first()
    return (existing or make_advisory(world)).advisory_id


def _fill(path: str, world: World) -> str:
    if "advisory_id" in path:
        path = path.replace("{advisory_id}", _advisory_id(world))
        path = path.replace("<str:advisory_id>", _advisory_id(world))
    values = {
        "{report_id}": world.reports["a"].pk,
        "<int:report_id>": world.reports["a"].pk,
        "{case_id}": world.cases["a"].pk,
        "<int:case_id>": world.cases["a"].pk,
        "{artifact_id}": world.artifacts["a"].pk,
        "{attachment_id}": world.attachment.pk if world.attachment else 0,
        "{run_id}": world.run.pk if world.run else 0,
        "<int:attachment_id>": world.attachment.pk if world.attachment else 0,
        "{slug}": "open-models",
        "{fmt}": "csaf",
        "<slug:slug>": "open-models",
    }
    for key, value in values.items():
        path = path.replace(key, str(value))
    return path


VISIBILITY = {"researcher_a": "reporter", "vendor_a": "vendor"}


def _api_body(path: str, role: str, world: World) -> dict[str, Any]:
    if path.endswith("/advisories"):
        from tests.advisories.helpers import content

        return content()
    if "/advisories/" in path and path.endswith("/transition"):
        return {"to": "withdrawn", "reason": "permission matrix"}
    if "/advisories/" in path:
        return {"summary": "Edited by the permission matrix.", "changelog": "matrix"}
    if path.endswith("/reports"):
        return report_data()
    if path.endswith("/verifications"):
        return {
            "artifact_id": world.artifacts["a"].pk,
            "target": "openai:http://127.0.0.1:9/v1#chat-7b",
            "trials": 5,
        }
    if path.endswith("/cancel"):
        return {}
    if path.endswith("/download"):
        return {"reason": "permission matrix"}
    if path.endswith("/unseal"):
        return {"reason": "permission matrix"}
    if path.endswith("/transition"):
        return {"to": "remediating", "reason": "permission matrix"}
    if path.endswith("/comments"):
        return {"body": "hello", "visibility": VISIBILITY.get(role, "internal")}
    if path.endswith("/artifacts"):
        return {"provider": "p", "name": "n", "revision": "r"}
    if path.endswith("/me/identity"):
        return {"legal_name": "Jane Doe", "email": "jane@example.test"}
    raise AssertionError(f"no body for {path}")


@pytest.mark.parametrize(
    ("method", "path", "role"), [(m, p, r) for (m, p) in API for r in ROLES], ids=lambda v: str(v)
)
def test_api_matrix(world: World, method: str, path: str, role: str) -> None:
    client = Client(enforce_csrf_checks=True)
    headers = (
        {}
        if role == "anonymous"
        else {
            "HTTP_AUTHORIZATION": f"Bearer {token_for(world.users[role], ['read', 'submit', 'triage', 'admin'])}"
        }
    )
    url = _fill(path, world)
    if method == "GET":
        response = client.get(url, **headers)
    else:
        if path.endswith("/attachments"):  # multipart upload
            upload = SimpleUploadedFile("notes.txt", b"hello\n", content_type="text/plain")
            response = client.post(url, data={"file": upload}, **headers)
        else:
            send = {"PUT": client.put, "PATCH": client.patch}.get(method, client.post)
            body = json.dumps(_api_body(path, role, world))
            response = send(url, data=body, content_type="application/json", **headers)
    assert response.status_code == API[(method, path)][role], response.content
    if response.status_code == 404 and method == "GET":
        missing = client.get(re.sub(r"/\d+(?=/|$)", "/99999", url, count=1), **headers)
        assert response.content == b'{"detail": "not found"}' == missing.content


def _web_body(route: str, role: str) -> dict[str, Any]:
    if route.endswith("<int:attachment_id>/"):
        return {"reason": "permission matrix"}
    if route.endswith("attachments/"):
        return {"file": SimpleUploadedFile("notes.txt", b"hello\n")}
    if route.endswith("transition/"):
        return {"to": "remediating", "reason": "permission matrix"}
    if route.endswith("comments/"):
        return {"body": "hello", "visibility": VISIBILITY.get(role, "internal")}
    return {}


@pytest.mark.parametrize(
    ("method", "route", "role"), [(m, p, r) for (m, p) in WEB for r in ROLES], ids=lambda v: str(v)
)
def test_web_matrix(world: World, method: str, route: str, role: str) -> None:
    client = Client(enforce_csrf_checks=True)
    if role != "anonymous":
        sign_in(client, world.users[role])  # staff also give their second factor
    url = "/" + _fill(route, world)
    if method == "GET":
        response = client.get(url)
    else:
        client.get("/signin/")  # sets the CSRF cookie, as a browser would on any form page
        token = client.cookies["csrftoken"].value
        response = client.post(url, {**_web_body(route, role), "csrfmiddlewaretoken": token})
    assert response.status_code == WEB[(method, route)][role], response.content[:300]
