"""A password typed into the username box never reaches the audit chain (issue 15, defect 12).

The audit chain is append-only and goes into every backup; a failed or refused sign-in keeps
the attempted username only as a keyed hash, the same key the lockout table uses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from modelcvd.accounts.lockout import username_key
from modelcvd.accounts.models import SignInFailure
from modelcvd.core.models import AuditEvent
from tests.factories import PASSWORD, World

TYPED_IN_THE_WRONG_BOX = "Tr0ub4dor&3-my-real-password"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.SIGNIN_FAILURES_PER_USERNAME = 2
    settings.SIGNIN_FAILURES_PER_IP = 100


def _attempt(username: str, password: str) -> Any:
    client = Client(enforce_csrf_checks=True)
    client.get("/signin/")
    token = client.cookies["csrftoken"].value
    return client.post(
        "/signin/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
    )


def _everything_audited() -> str:
    rows = list(AuditEvent.objects.values())
    rows += list(SignInFailure.objects.values())
    return json.dumps(rows, default=str).lower()


def test_a_password_in_the_username_box_is_never_audited(world: World) -> None:
    # Twice wrong (audited as failed), then refused by the lockout (audited as refused).
    for _ in range(3):
        response = _attempt(TYPED_IN_THE_WRONG_BOX, PASSWORD)
        assert response.status_code == 200
    failed = AuditEvent.objects.filter(action="auth.sign_in_failed")
    refused = AuditEvent.objects.filter(action="auth.sign_in_refused")
    assert failed.count() == 2 and refused.count() == 1
    key = username_key(TYPED_IN_THE_WRONG_BOX)
    assert {e.data["username_key"] for e in [*failed, *refused]} == {key}

    audited = _everything_audited()
    for text in (TYPED_IN_THE_WRONG_BOX, PASSWORD):
        for form in (text, text.lower(), json.dumps(text)[1:-1]):
            assert form.lower() not in audited
        assert text[:12].lower() not in audited  # no prefix of it either
