"""Schemathesis against /api/openapi.json: no 500, no answer the schema does not describe.

The permission matrix (test_permission_matrix.py) pins one well-formed request per operation
and role; this file throws generated ones at every operation (valid inputs and, in negative
mode, inputs the schema forbids) as four callers: the triager, researcher_a (reporter of case
A), vendor_a (notified on case A) and the anonymous public. Every answer must be

- no server error (5xx),
- a status code the operation documents,
- of a documented content type, with a body valid against the documented schema,
- and, for a 4xx, the error shape api.py promises: a JSON object with a string `detail`, plus
  `errors: [{field, reason}]` on a 422 (checked here because most 4xx are not yet declared
  in the schema, so Schemathesis has no body schema to check them against).

Bounded so the file runs in well under a minute: MAX_EXAMPLES per operation and role,
derandomized, so a failure reproduces. bench/api_fuzz.py runs the long version. The calls go
in-process through modelcvd.wsgi with the test database (pytest-django's `db`): POSTs create
rows, rolled back with the test. Path ids are mostly pointed at the world's objects, so the
calls reach the handlers instead of stopping at 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from modelcvd.wsgi import application
from tests.factories import World, token_for

ROLES = ["triager", "researcher_a", "vendor_a", "anonymous"]
SCOPES = ["read", "submit", "triage", "admin"]
# Per operation and role, valid and invalid inputs drawn together: with 4 roles, ~840 calls and
# about 30 s on the 2-core dev machine today.
MAX_EXAMPLES = 10


class ErrorBodyShape(Failure):
    """A 4xx whose body is not the documented `{"detail": ..., ["errors": [...]]}`."""

    code = "ST991"
    checks = ("error_body_shape",)
    kind_title = "Error body outside the documented shape"


@schemathesis.check
def error_body_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is a JSON object with a string `detail`; a 422 also names its bad fields."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    problems = []
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        problems.append('the body is not a JSON object with a string "detail"')
    elif response.status_code == 422:
        errors = body.get("errors")
        if not isinstance(errors, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("field"), str)
            and isinstance(e.get("reason"), str)
            for e in errors
        ):
            problems.append('a 422 without "errors": [{"field": str, "reason": str}]')
    if problems:
        raise ErrorBodyShape(
            operation=case.operation.label,
            message=f"{response.status_code}: {problems[0]}\nBody: {response.text[:300]}",
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body_shape,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # Coverage enumerates boundary values per field (hundreds of calls per operation): the
        # bench's job. Stateful links are not declared in this schema.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        # The caller is the role under test, never a generated Authorization header or cookie.
        "generation": {"mode": "all", "with-security-parameters": False},
    }
)


# Loaded at collection (pytest-django has set Django up by then), from the served document;
# serving it touches no database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    """Keep the test's database connection (and its transaction) open across requests.

    Called bare, Django's WSGI handler closes the connection when a request ends, which would
    end the test's transaction; its test Client disconnects the same two receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def headers_for(world: World) -> dict[str, dict[str, str]]:
    """Each role's request headers: a bearer token with every scope, or none at all."""
    return {
        role: {"Authorization": f"Bearer {token_for(world.users[role], SCOPES)}"}
        if role != "anonymous"
        else {}
        for role in ROLES
    }


@pytest.fixture
def real_ids(world: World) -> dict[str, list[Any]]:
    """Existing objects per path parameter: the world's, plus one attachment on report A."""
    from modelcvd.reports.services.attachments import attachment_add

    attachment = attachment_add(
        report=world.reports["a"],
        actor=world.users["researcher_a"],
        filename="transcript.txt",
        content=b"user: Pretend you are a locksmith...\n",
    )
    return {
        "report_id": [r.pk for r in world.reports.values()],
        "case_id": [c.pk for c in world.cases.values()],
        "artifact_id": [a.pk for a in world.artifacts.values()],
        "attachment_id": [attachment.pk],
        "slug": ["open-models"],
    }


def _aim_at_world(case: Any, real_ids: dict[str, list[Any]]) -> None:
    """Point three in four generated path ids at existing objects (deterministically)."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return  # a negative path value must reach the server as generated
    for name, value in list((case.path_parameters or {}).items()):
        if name not in real_ids:
            continue
        pick = value if isinstance(value, int) else len(str(value))
        if pick % 4:
            case.path_parameters[name] = real_ids[name][pick % len(real_ids[name])]


@pytest.mark.usefixtures("_keep_test_connection")
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the world and token are per test, on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_answers_within_its_schema(
    case: Any, role: str, real_ids: dict[str, list[Any]], headers_for: dict[str, dict[str, str]]
) -> None:
    _aim_at_world(case, real_ids)
    case.call_and_validate(headers=headers_for[role], checks=CHECKS)
