"""TOTP second factor: staff enrol on first sign-in, then give a code before any page or
browser-session API call works; wrong codes are audited and throttled; codes cannot be
replayed; bearer tokens are unaffected; other roles may enrol if they wish."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP

from modelcvd.accounts.models import Role, TotpDevice, User
from modelcvd.accounts.twofactor import totp_device_for, two_factor_required
from modelcvd.core.models import AuditEvent
from tests.factories import PASSWORD, World, make_user, sign_in, token_for, totp_code


def password_only(username: str, next_url: str = "/triage/") -> Client:
    """A client that has passed the password form (the real one), and nothing more."""
    client = Client(enforce_csrf_checks=False)
    response = client.post(
        "/signin/", {"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302 and response.headers["Location"] == next_url
    return client


def code_from_setup_page(html: str) -> tuple[str, str]:
    """What the user's app would show after they type in the secret from the page."""
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "the setup page shows the secret as text"
    key = b32decode(match.group(1).replace(" ", ""))
    return match.group(1), f"{TOTP(key).token():06d}"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def actions(user: User) -> list[str]:
    return list(AuditEvent.objects.filter(actor=user).values_list("action", flat=True))


def test_staff_without_a_device_enrol_on_first_sign_in(world: World) -> None:
    triager = make_user("new_triager", Role.TRIAGER, world.orgs["coordinator"])
    client = password_only("new_triager")
    response = client.get("/triage/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin/two-factor/setup/?next=%2Ftriage%2F"

    page = client.get(response.headers["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Set up an authenticator app now to continue" in html
    assert "otpauth://totp/modelcvd%3Anew_triager?secret=" in html
    assert "<script" not in html and "style=" not in html  # the CSP forbids both
    secret, code = code_from_setup_page(html)
    # Each visit shows a fresh secret: only the latest one shown can be confirmed.
    again = client.get("/signin/two-factor/setup/?next=/triage/").content.decode()
    assert code_from_setup_page(again)[0] != secret
    secret, code = code_from_setup_page(again)

    refused = client.post("/signin/two-factor/setup/", {"code": wrong(code), "next": "/triage/"})
    assert refused.status_code == 422 and b"That code is not right" in refused.content
    assert totp_device_for(triager) is None
    assert AuditEvent.objects.get(actor=triager, action="auth.totp_failed").data == {
        "stage": "setup"
    }

    done = client.post("/signin/two-factor/setup/", {"code": code, "next": "/triage/"})
    # Confirmed: the recovery codes are shown, once, with the way on to where they were going.
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert b'<a href="/triage/">I have saved them: continue</a>' in done.content
    device = totp_device_for(triager)
    assert device is not None and device.confirmed
    assert "auth.totp_device_confirmed" in actions(triager)
    assert client.get("/triage/").status_code == 200
    # Enrolled: the setup page no longer offers a new secret.
    assert client.get("/signin/two-factor/setup/").status_code == 302


def test_staff_with_a_device_give_a_code_before_any_page(world: World) -> None:
    triager = world.users["triager"]
    device = totp_device_for(triager)
    assert device is not None
    client = password_only("triager")
    for path in ("/triage/", "/", f"/cases/{world.cases['a'].pk}/", "/reports/new/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/signin/two-factor/?next=")
    form = client.get("/signin/two-factor/?next=/triage/")
    assert form.status_code == 200 and b'<label for="id_code">Authentication code' in form.content

    code = totp_code(device)
    refused = client.post("/signin/two-factor/", {"code": wrong(code), "next": "/triage/"})
    assert refused.status_code == 422 and b"That code is not right" in refused.content
    failure = AuditEvent.objects.get(actor=triager, action="auth.totp_failed")
    assert failure.data == {"stage": "sign_in"} and failure.object_id == str(device.pk)
    assert client.get("/triage/").status_code == 302

    # django-otp throttles the device after a failure: even the right code waits.
    throttled = client.post("/signin/two-factor/", {"code": code, "next": "/triage/"})
    assert throttled.status_code == 422 and b"Too many wrong codes" in throttled.content
    TotpDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=10)
    )

    done = client.post("/signin/two-factor/", {"code": code, "next": "/triage/"})
    assert done.status_code == 302 and done.headers["Location"] == "/triage/"
    assert "auth.totp_verified" in actions(triager)
    assert client.get("/triage/").status_code == 200

    # The same code cannot be used again, from another session.
    other = password_only("triager")
    replay = other.post("/signin/two-factor/", {"code": code, "next": "/triage/"})
    assert replay.status_code == 422
    assert other.get("/triage/").status_code == 302


def test_unverified_staff_can_still_sign_out_or_sign_in_again(world: World) -> None:
    client = password_only("admin")
    assert client.get("/signin/").status_code == 200
    response = client.post("/signout/")
    assert response.status_code == 302
    assert client.get("/triage/").headers["Location"].startswith("/signin/?next=")


def test_next_after_the_code_stays_on_this_site(world: World) -> None:
    client = password_only("triager")
    device = totp_device_for(world.users["triager"])
    assert device is not None
    response = client.post(
        "/signin/two-factor/", {"code": totp_code(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_browser_session_api_needs_the_second_factor_for_staff(world: World) -> None:
    password = password_only("triager")
    assert password.get("/api/v1/me").status_code == 401
    assert password.get("/api/v1/triage/queue").status_code == 401

    verified = sign_in(Client(enforce_csrf_checks=True), world.users["triager"])
    assert verified.get("/api/v1/me").json()["username"] == "triager"
    assert verified.get("/api/v1/triage/queue").status_code == 200

    # Other roles owe no code; bearer tokens are a credential of their own.
    assert password_only("researcher_a").get("/api/v1/me").status_code == 200
    token = token_for(world.users["triager"], ["read"])
    bearer = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.status_code == 200


def test_other_roles_may_enrol_and_are_then_asked_for_a_code(world: World) -> None:
    researcher = world.users["researcher_b"]
    assert not two_factor_required(researcher)
    client = password_only("researcher_b", next_url="/reports/")
    assert client.get("/reports/").status_code == 200  # no code owed
    page = client.get("/signin/two-factor/setup/")
    assert page.status_code == 200 and b"Optional" in page.content
    _, code = code_from_setup_page(page.content.decode())
    assert client.post("/signin/two-factor/setup/", {"code": code}).status_code == 200

    again = password_only("researcher_b", next_url="/reports/")
    assert again.get("/reports/").headers["Location"] == "/signin/two-factor/?next=%2Freports%2F"
    assert again.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("role", ["triager", "admin"])
def test_staff_roles_require_the_second_factor(world: World, role: str) -> None:
    assert two_factor_required(world.users[role])


def test_a_superuser_requires_the_second_factor(db: None) -> None:
    boss = User.objects.create_superuser("boss", password=PASSWORD)
    assert two_factor_required(boss)
