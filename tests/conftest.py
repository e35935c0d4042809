"""Shared fixtures: a fixed dataset of every role, API clients with real tokens, eager tasks.

Tests run through the full middleware stack with Django's Client(enforce_csrf_checks=True),
against the real database (SQLite, and PostgreSQL when DATABASE_URL says so).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests import factories

CI = os.environ.get("CI", "").lower() == "true"


def skip_unless_ci(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where `make test` installs everything."""
    if CI:
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_keys_and_eager_tasks(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from modelcvd.celery import app

    # Argon2 is the production hasher (tests/accounts checks it); here it would cost seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.KEY_FILE = tmp_path_factory.getbasetemp() / "keys" / "kek.json"
    settings.KEK_ENV = ""
    settings.AUDIT_KEY_FILE = tmp_path_factory.getbasetemp() / "keys" / "audit-keys.json"
    settings.AUDIT_KEY_ENV = ""
    # Per test: each test's database starts empty, so a witness must not outlive its test.
    settings.AUDIT_WITNESS_FILE = tmp_path_factory.mktemp("witness") / "audit-witness.json"
    # The suite's stand-in endpoint for webhooks and `openai:` targets that must register but
    # never answer: nothing listens on the discard port. Egress tests set their own list.
    settings.EGRESS_ALLOW = ["127.0.0.1:9"]
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@dataclass
class ApiClient:
    """A Django test client that speaks JSON with a bearer token (or the anonymous public)."""

    client: Client
    token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> Any:
        return self.client.get(path, **self._headers())

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(path, data=data, content_type="application/json", **self._headers())


@pytest.fixture
def world(db: None) -> factories.World:
    return factories.build_world()


@pytest.fixture
def api_as(world: factories.World) -> Any:
    """api_as("triager") -> an ApiClient with a token holding every scope."""

    def make(
        role: str, scopes: tuple[str, ...] = ("read", "submit", "triage", "admin")
    ) -> ApiClient:
        client = Client(enforce_csrf_checks=True)
        if role == "anonymous":
            return ApiClient(client)
        return ApiClient(client, factories.token_for(world.users[role], list(scopes)))

    return make
