"""The operation x token-scope matrix, generated from the OpenAPI document (issue 15.5).

Every operation declares what a token must hold to call it (accounts/scopes.py), and the
declaration is published in the document as `x-token-scopes`. Here each operation of the
document is called through the full stack (Django's test client, middleware, ninja, the
bearer authentication) on the fixed dataset (tests.factories.World), with tokens of an
administrator holding each single scope, all scopes but one, exactly each alternative the
operation declares, and all scopes. A call is allowed exactly when the declaration says so;
otherwise it is 403 naming the missing scope. An operation without a declaration fails here
(and refuses every token: the check denies by default).

The expectations come from the document, so they test that the one check holds every
declaration; what each operation should declare is tested by the rules below the matrix
(reads need `read`; an answer that shows what a read shows needs `read`) and by the attacks of
tests/security/test_scope_attacks.py.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.urls import path
from ninja import NinjaAPI, Router

from modelcvd.accounts.auth import API_AUTH
from modelcvd.accounts.scopes import (
    OPENAPI_KEY,
    PUBLIC,
    ScopeRule,
    operation_scopes,
    token_scope,
)
from modelcvd.core.errors import DomainError
from modelcvd.vocabulary import TokenScope
from tests.factories import World, token_for
from tests.security.test_permission_matrix import _fill as fill_path  # the role matrix's ids

SCOPES = [s.value for s in TokenScope]


def _schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), route, operation)
        for route, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


# What an undeclared operation answers every token: refused (the check denies by default).
UNDECLARED = ScopeRule(required=frozenset({"(a declaration)"}))


def _rule(operation: dict[str, Any]) -> ScopeRule:
    declared = operation.get(OPENAPI_KEY)
    if declared is None:
        return UNDECLARED
    return ScopeRule(
        required=frozenset(declared["required"]),
        one_of=frozenset(declared["one_of"]),
        public=declared["public"],
    )


def _token_sets(rule: ScopeRule) -> set[frozenset[str]]:
    every = frozenset(SCOPES)
    sets = {frozenset([s]) for s in SCOPES} | {every - {s} for s in SCOPES} | {every}
    if rule is not UNDECLARED:
        sets |= {frozenset(alternative) for alternative in rule.alternatives() if alternative}
    return sets


def test_every_operation_declares_its_token_scopes() -> None:
    undeclared = [
        f"{method} {route}"
        for method, route, operation in _operations(_schema())
        if OPENAPI_KEY not in operation
    ]
    assert undeclared == [], (
        "declare what a token needs with @token_scope(...) under the @router line "
        "(accounts/scopes.py); until then tokens may not call these"
    )


def test_the_declarations_are_in_the_security_requirements() -> None:
    for method, route, operation in _operations(_schema()):
        rule = _rule(operation)
        if rule is UNDECLARED:
            continue  # the test above names it
        bearer = [s["BearerToken"] for s in operation.get("security") or [] if "BearerToken" in s]
        if rule.public:
            assert all(scopes == [] for scopes in bearer), (method, route)
        else:
            assert bearer == rule.alternatives(), (method, route)


def test_reads_need_the_read_scope_or_are_public() -> None:
    wrong = [
        f"{method} {route}"
        for method, route, operation in _operations(_schema())
        if method == "GET" and not (_rule(operation).public or "read" in _rule(operation).required)
    ]
    assert wrong == []


def test_writes_are_never_public_and_operations_without_authentication_are() -> None:
    for method, route, operation in _operations(_schema()):
        rule = _rule(operation)
        if method != "GET":
            assert not rule.public, f"{method} {route}: a write must name a scope"
        if not operation.get("security"):
            # Nobody is authenticated there, so nothing could check a declared scope.
            assert rule.public, f"{method} {route} authenticates nobody: declare PUBLIC"


# Writes whose answer has the schema of a read's answer but shows only what the caller sent
# (and ids, states, times): they need no `read`. Any other such write needs `read`, or a token
# without it reads through the write's answer (issue 15.5: whole cases through POST answers).
ECHOES = {
    ("POST", "/api/v1/reports"): "the report just sent",
    ("POST", "/api/v1/reports/abstract"): "the abstract just sent",
    ("POST", "/api/v1/cases/{case_id}/verifications"): "the run just queued",
    ("POST", "/api/v1/cases/{case_id}/reverifications"): "the run just queued",
    ("POST", "/api/v1/cases/{case_id}/credits"): "the credit just granted",
    ("POST", "/api/v1/cases/{case_id}/bounties"): "the bounty just awarded",
    ("POST", "/api/v1/cases/{case_id}/comments"): "the comment just posted",
    ("POST", "/api/v1/reports/{report_id}/attachments"): "the file's name and size",
    ("POST", "/api/v1/artifacts"): "the artifact just registered",
    ("POST", "/api/v1/assessments"): "the assessment just drafted",
    ("PUT", "/api/v1/programs/{slug}/policy"): "the program as the public reads it",
}


def _success_schemas(operation: dict[str, Any]) -> set[str]:
    found = set()
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            for content in response.get("content", {}).values():
                found.add(json.dumps(content.get("schema"), sort_keys=True))
    return found


def test_answers_that_show_what_a_read_shows_need_read() -> None:
    operations = _operations(_schema())
    read_shapes = set()
    for method, _, operation in operations:
        if method == "GET":
            read_shapes |= _success_schemas(operation)
            # A list's items are what a read shows, one by one.
            read_shapes |= {
                json.dumps(json.loads(s)["items"], sort_keys=True)
                for s in _success_schemas(operation)
                if "items" in json.loads(s)
            }
    unread = []
    for method, route, operation in operations:
        rule = _rule(operation)
        if method == "GET" or (method, route) in ECHOES or "read" in rule.required:
            continue
        if _success_schemas(operation) & read_shapes:
            unread.append(f"{method} {route}")
    assert unread == [], "these answer with what a read shows: add read, or list them in ECHOES"
    stale = [k for k in ECHOES if not any((m, r) == k for m, r, _ in operations)]
    assert stale == []


def _call(client: Client, method: str, url: str, token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(url, **headers)
    send = {"PUT": client.put, "PATCH": client.patch, "DELETE": client.delete}.get(
        method, client.post
    )
    # An empty body: a refused call is refused before the body is read; an allowed one gets as
    # far as validation, which is all this matrix asks of it.
    return send(url, data="{}", content_type="application/json", **headers)


def _refusal(response: Any) -> str | None:
    if response.status_code != 403:
        return None
    detail = str(response.json().get("detail", ""))
    return detail if "token" in detail else None


def test_every_operation_x_every_scope(world: World) -> None:
    """One World for the whole matrix: each operation's path is filled once (the role matrix's
    ids), then called with each token set; the mismatches are listed together."""
    operations = _operations(_schema())
    tokens = {
        frozenset(s): token_for(world.users["admin"], sorted(s))
        for n in range(1, len(SCOPES) + 1)
        for s in combinations(SCOPES, n)
    }
    client = Client(enforce_csrf_checks=True)
    mismatches = []
    calls = 0
    for method, route, operation in operations:
        rule = _rule(operation)
        if rule is UNDECLARED:
            mismatches.append(f"{method} {route}: declares no token scope")
        url = fill_path(route, world)
        for held in sorted(_token_sets(rule), key=sorted):
            response = _call(client, method, url, tokens[held])
            calls += 1
            refused = _refusal(response)
            label = f"{method} {route} with {sorted(held)}"
            if rule.allows(held):
                if refused is not None or response.status_code == 401:
                    mismatches.append(f"{label}: refused ({response.status_code} {refused})")
            elif refused is None:
                mismatches.append(f"{label}: allowed ({response.status_code})")
            elif rule is not UNDECLARED and not all(
                f"'{s}'" in refused for s in rule.required - held
            ):
                mismatches.append(f"{label}: the refusal names the wrong scope: {refused}")
            if rule.public and operation.get("security") and "read" not in held:
                # Without `read` a token reads an open operation exactly as the public does.
                # (Where nobody is authenticated, metrics' clock aside, there is no difference.)
                anonymous = _call(client, method, url, None)
                if (anonymous.status_code, anonymous.content) != (
                    response.status_code,
                    response.content,
                ):
                    mismatches.append(f"{label}: not the public's answer")
    assert mismatches == []
    assert calls >= 5 * len(operations)


# Default deny, through the full stack: an API with the same authentication and the one check,
# and an operation someone forgot to declare.
forgotten = Router(auth=API_AUTH)


@forgotten.get("/declared")
@token_scope(TokenScope.READ)
def declared(request: Any) -> dict[str, str]:
    return {"ok": "yes"}


@forgotten.get("/forgotten")
def undeclared(request: Any) -> dict[str, str]:
    return {"ok": "yes"}


@forgotten.get("/open", auth=[*API_AUTH, lambda request: request.user])
@token_scope(PUBLIC)
def open_to_all(request: Any) -> dict[str, bool]:
    return {"as_user": bool(getattr(request.auth, "is_authenticated", False))}


scratch_api = NinjaAPI(urls_namespace="scope-scratch")
scratch_api.add_decorator(operation_scopes, mode="view")
scratch_api.add_router("/", forgotten)
scratch_api.add_exception_handler(
    DomainError,
    lambda request, exc: scratch_api.create_response(
        request, {"detail": exc.message}, status=exc.status
    ),
)
urlpatterns = [path("scratch/", scratch_api.urls)]


@override_settings(ROOT_URLCONF=__name__)
def test_an_operation_without_a_declaration_refuses_every_token(world: World) -> None:
    client = Client()
    token = token_for(world.users["admin"], SCOPES)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/scratch/declared", **auth).status_code == 200
    refused = client.get("/scratch/forgotten", **auth)
    assert refused.status_code == 403
    assert "declares no token scope" in refused.json()["detail"]
    schema = scratch_api.get_openapi_schema()
    assert OPENAPI_KEY not in schema["paths"]["/scratch/forgotten"]["get"]
    assert OPENAPI_KEY in schema["paths"]["/scratch/declared"]["get"]


@override_settings(ROOT_URLCONF=__name__)
def test_an_open_operation_reads_as_the_public_without_read(world: World) -> None:
    client = Client()
    reader = token_for(world.users["admin"], ["read"])
    writer = token_for(world.users["admin"], ["submit", "triage", "admin"])
    as_user = client.get("/scratch/open", HTTP_AUTHORIZATION=f"Bearer {reader}").json()
    as_public = client.get("/scratch/open", HTTP_AUTHORIZATION=f"Bearer {writer}").json()
    assert as_user == {"as_user": True} and as_public == {"as_user": False}


def test_a_declaration_is_checked_when_it_is_written() -> None:
    with pytest.raises(TypeError):
        token_scope()
    with pytest.raises(TypeError):
        token_scope(PUBLIC, TokenScope.READ)
