"""Issue 15, defect 6: the second factor could be skipped.

The attack: a staff member's password alone (no TOTP code) gave a session that public
routes with optional authentication took for the staff member, and read a hidden artifact.
Now a session that owes its code is anonymous everywhere: every API operation (all of them,
from the OpenAPI document, so a new one is covered) answers it exactly as it answers the
public, and every web page (from the URL resolver) sends it to the code page.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve

from modelcvd.accounts.checks import (
    SECOND_FACTOR_MIDDLEWARE,
    second_factor_middleware_installed,
)
from modelcvd.accounts.middleware import OPEN_VIEWS
from modelcvd.artifacts.models import Artifact
from tests.factories import PASSWORD, World, sign_in
from tests.security.test_permission_matrix import API, WEB, _api_body, _fill, _web_body

SRC = Path(__file__).resolve().parents[2] / "src" / "modelcvd"


def password_only(username: str) -> Client:
    """A client that has passed the real password form with CSRF, and nothing more."""
    client = Client(enforce_csrf_checks=True)
    client.get("/signin/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/signin/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302, response.content[:300]
    return client


def anonymous() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/signin/")  # a CSRF cookie, as the password-only client has
    return client


def hidden_artifact() -> Artifact:
    """In no program's scope and named by no case: the coordinators see it, the public not."""
    return Artifact.objects.create(provider="internal", name="unreleased-13b", revision="c" * 40)


def test_a_password_only_staff_session_does_not_read_a_hidden_artifact(world: World) -> None:
    hidden = hidden_artifact()
    url = f"/api/v1/artifacts/{hidden.pk}"
    verified = sign_in(Client(enforce_csrf_checks=True), world.users["triager"])
    assert verified.get(url).status_code == 200  # it is there, for staff who gave the code

    attacker = password_only("triager")
    public = anonymous()
    for path in (url, f"{url}/lineage"):
        response = attacker.get(path)
        assert response.status_code == 404, path
        assert response.content == public.get(path).content == b'{"detail": "not found"}'
    listed = {a["id"] for a in attacker.get("/api/v1/artifacts").json()}
    assert hidden.pk not in listed
    assert listed == {a["id"] for a in public.get("/api/v1/artifacts").json()}
    # The page, the case of another organisation and the API's own view of the caller.
    page = attacker.get(f"/artifacts/{hidden.pk}/lineage/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/signin/two-factor/?next=")
    assert attacker.get(f"/api/v1/cases/{world.cases['b'].pk}").status_code == 401
    assert attacker.get("/api/v1/me").status_code == 401


def _request(client: Client, method: str, path: str, world: World) -> Any:
    url = _fill(path, world)
    token = client.cookies["csrftoken"].value
    if method == "GET":
        return client.get(url)
    if path.endswith("/attachments"):
        return client.post(url, {"file": b"hello"}, HTTP_X_CSRFTOKEN=token)
    send = {"PUT": client.put, "PATCH": client.patch}.get(method, client.post)
    body = json.dumps(_api_body(path, "triager", world))
    return send(url, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)


def _operations() -> list[tuple[str, str]]:
    schema = json.loads(Client().get("/api/openapi.json").content)
    return sorted((m.upper(), p) for p, ops in schema["paths"].items() for m in ops)


@pytest.mark.django_db
def test_the_operations_below_are_every_operation_of_the_openapi_document() -> None:
    assert set(_operations()) == set(API)


@pytest.mark.parametrize(("method", "path"), sorted(API), ids=lambda v: str(v))
@pytest.mark.parametrize("staff", ["triager", "admin"])
def test_every_api_operation_answers_a_password_only_session_as_anonymous(
    world: World, method: str, path: str, staff: str
) -> None:
    """Same status, and for reads the same body, as a caller with no session at all: with a
    valid CSRF token sent, so only the missing second factor stands in the way."""
    attacker = password_only(staff)
    public = anonymous()
    got = _request(attacker, method, path, world)
    expected = _request(public, method, path, world)
    assert got.status_code == expected.status_code, got.content[:300]
    if method == "GET":
        assert _stable(got) == _stable(expected)


# Answers that carry the time they were computed at.
VOLATILE = {"as_of"}


def _stable(response: Any) -> Any:
    if response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict):
            return {k: v for k, v in body.items() if k not in VOLATILE}
        return body
    return response.content


def test_optional_auth_operations_are_found_and_covered(world: World) -> None:
    """The operations that answer the public although they declare authentication (optional
    authentication, where the defect was): derived from the OpenAPI document and the
    anonymous answers, so a new one is in the list above without anyone adding it."""
    schema = json.loads(Client().get("/api/openapi.json").content)
    public = anonymous()
    optional = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "get" or not operation.get("security"):
                continue
            if public.get(_fill(path, world)).status_code != 401:
                optional.add(path)
    assert "/api/v1/artifacts/{artifact_id}" in optional
    assert "/api/v1/advisories/{advisory_id}" in optional
    assert {("GET", p) for p in optional} <= set(API)


@pytest.mark.parametrize(("method", "route"), sorted(WEB), ids=lambda v: str(v))
def test_every_web_page_sends_a_password_only_session_to_the_code_page(
    world: World, method: str, route: str
) -> None:
    attacker = password_only("triager")
    url = "/" + _fill(route, world)
    if method == "GET":
        response = attacker.get(url)
    else:
        token = attacker.cookies["csrftoken"].value
        data = {**_web_body(route, "triager", world), "csrfmiddlewaretoken": token}
        response = attacker.post(url, data)
    if resolve(url).view_name in OPEN_VIEWS:
        return  # signing in and out, and the code pages: tests/accounts/test_twofactor.py
    assert response.status_code == 302, (route, response.status_code)
    assert response.headers["Location"].startswith("/signin/two-factor/?next="), route


def _reads_request_user(path: Path) -> list[int]:
    tree = ast.parse(path.read_text("utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "user"
        and isinstance(node.value, ast.Name)
        and node.value.id == "request"
    ]


def test_no_api_module_decides_the_caller_from_the_session_itself() -> None:
    """An operation's caller comes from its authentication (API_AUTH or OPTIONAL_AUTH in
    accounts/auth.py), never from `request.user`: that fallback was the defect."""
    offenders = {}
    for path in SRC.rglob("*.py"):
        text = path.read_text("utf-8")
        if "from ninja import" not in text or path.name == "auth.py":
            continue
        lines = _reads_request_user(path)
        if lines:
            offenders[str(path.relative_to(SRC))] = lines
    assert offenders == {}


def test_a_settings_file_without_the_one_path_fails_the_system_check(settings: Any) -> None:
    assert second_factor_middleware_installed() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != SECOND_FACTOR_MIDDLEWARE]
    assert [e.id for e in second_factor_middleware_installed()] == ["modelcvd.E001"]
