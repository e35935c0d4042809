"""Sign-in limits: after N failures for a username (existing or not) or from an address, the
form refuses further attempts exactly as it answers a wrong password (same status, same page,
same hashing work) until the failures leave the window; the counts live in the database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db.models import F
from django.test import Client
from django.utils import timezone

from modelcvd.accounts.lockout import (
    client_ip,
    signin_failure_record,
    signin_refused,
    username_key,
)
from modelcvd.accounts.models import SignInFailure
from modelcvd.core.models import AuditEvent
from tests.factories import PASSWORD, World

LIMIT = 3
WINDOW = 600


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.SIGNIN_FAILURES_PER_USERNAME = LIMIT
    settings.SIGNIN_FAILURES_PER_IP = 100
    settings.SIGNIN_WINDOW_SECONDS = WINDOW
    settings.CLIENT_IP_HEADER = ""


def attempt(username: str, password: str, ip: str = "198.51.100.7") -> Any:
    return Client().post("/signin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def page(response: Any) -> str:
    """The page without the per-response CSRF token, which is random by design."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and "sessionid" in response.cookies


def age_failures(seconds: int) -> None:
    SignInFailure.objects.update(at=F("at") - timedelta(seconds=seconds))


def test_lockout_for_existing_and_unknown_usernames_looks_like_a_wrong_password(
    world: World,
) -> None:
    wrong_password = attempt("researcher_a", "not it")
    assert wrong_password.status_code == 200
    assert "Please enter a correct username and password" in page(wrong_password)
    for username in ("researcher_a", "no_such_user"):
        for _ in range(LIMIT - (username == "researcher_a")):
            assert attempt(username, "not it").status_code == 200

    locked_right_password = attempt("researcher_a", PASSWORD)
    locked_unknown = attempt("no_such_user", PASSWORD)
    for response in (locked_right_password, locked_unknown):
        assert not signed_in(response)
        assert response.status_code == wrong_password.status_code
        assert page(response) == page(wrong_password)
    # The count is per username, case folded; other accounts sign in as usual.
    assert not signed_in(attempt("RESEARCHER_A", PASSWORD))
    assert signed_in(attempt("researcher_b", PASSWORD))
    refused = AuditEvent.objects.filter(action="auth.sign_in_refused")
    # Kept as the lockout table keeps it: a keyed hash, case folded (tests/accounts/
    # test_signin_audit_privacy.py: never the name as typed).
    assert {e.data["username_key"] for e in refused} == {
        username_key("researcher_a"),
        username_key("no_such_user"),
    }


def test_lockout_lifts_when_the_failures_leave_the_window(world: World) -> None:
    for _ in range(LIMIT):
        attempt("researcher_a", "not it")
    assert not signed_in(attempt("researcher_a", PASSWORD))
    age_failures(WINDOW - 60)
    assert not signed_in(attempt("researcher_a", PASSWORD))  # refusals do not count
    assert SignInFailure.objects.count() == LIMIT
    age_failures(61)
    assert signed_in(attempt("researcher_a", PASSWORD))
    # A correct password clears the username's count.
    assert SignInFailure.objects.count() == 0


def test_the_window_slides_with_now(db: None) -> None:
    start = timezone.now()
    for minute in range(LIMIT):
        signin_failure_record(username="x", ip="192.0.2.1", now=start + timedelta(minutes=minute))
    last = start + timedelta(minutes=LIMIT - 1)
    assert signin_refused(username="x", ip="192.0.2.2", now=last)
    # The oldest failure leaves the window: one short of the limit again.
    assert not signin_refused(
        username="x", ip="192.0.2.2", now=start + timedelta(seconds=WINDOW + 1)
    )
    # Recording a failure drops the rows that left the window.
    signin_failure_record(username="y", ip="", now=last + timedelta(seconds=WINDOW + 1))
    assert SignInFailure.objects.count() == 1


def test_per_address_limit(world: World, settings: Any) -> None:
    settings.SIGNIN_FAILURES_PER_USERNAME = 100
    settings.SIGNIN_FAILURES_PER_IP = 4
    for i in range(4):
        attempt(f"guess{i}", "not it", ip="203.0.113.9")
    assert not signed_in(attempt("researcher_a", PASSWORD, ip="203.0.113.9"))
    assert signed_in(attempt("researcher_a", PASSWORD, ip="203.0.113.10"))


def test_the_address_comes_from_the_proxy_header_when_configured(
    world: World, settings: Any
) -> None:
    settings.SIGNIN_FAILURES_PER_USERNAME = 100
    settings.SIGNIN_FAILURES_PER_IP = 2
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    proxy = "10.0.0.1"
    for _ in range(2):
        Client().post(
            "/signin/",
            {"username": "someone", "password": "not it"},
            REMOTE_ADDR=proxy,
            HTTP_X_REAL_IP="198.51.100.1",
        )
    assert set(SignInFailure.objects.values_list("ip", flat=True)) == {"198.51.100.1"}
    other_client = Client().post(
        "/signin/",
        {"username": "researcher_a", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_REAL_IP="198.51.100.2",
    )
    assert signed_in(other_client)
    request: Any = type("R", (), {"META": {"REMOTE_ADDR": proxy, "HTTP_X_REAL_IP": "a, b"}})()
    assert client_ip(request) == "b"


def test_failures_keep_no_username_in_clear(world: World) -> None:
    attempt("hunter2-typed-as-username", "not it")
    row = SignInFailure.objects.get()
    assert "hunter2" not in row.username_key and len(row.username_key) == 64


class CountingHasher(MD5PasswordHasher):
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.calls += 1
        return super().encode(password, salt)


def test_every_answer_costs_one_password_hash(world: World, settings: Any) -> None:
    """Unknown user, wrong password, refused attempt: the same hashing work each time."""
    settings.PASSWORD_HASHERS = ["tests.accounts.test_lockout.CountingHasher"]
    world.users["researcher_a"].set_password(PASSWORD)
    world.users["researcher_a"].save()
    for username in ("researcher_a", "no_such_user"):
        for _ in range(LIMIT + 1):  # LIMIT failures, then refusals
            CountingHasher.calls = 0
            assert attempt(username, "not it").status_code == 200
            assert CountingHasher.calls == 1
