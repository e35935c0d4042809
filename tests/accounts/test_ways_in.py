"""Ways in: sign-up (open, invite, closed) with e-mail verification, and password reset that
never reveals an address and never skips the second factor. Through the full middleware
stack with CSRF checks on."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from modelcvd.accounts.links import invitation_code
from modelcvd.accounts.models import Role, User
from modelcvd.accounts.services import invitation_create
from modelcvd.cli import main
from modelcvd.core.models import AuditEvent
from tests.factories import enrol_totp, make_user, sign_in, totp_code

NEW_PASSWORD = "a-long-unusual-passphrase-42"


def _client(path: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get(path)
    if "csrftoken" not in client.cookies:  # a page without a form: take the cookie elsewhere
        client.get("/signin/")
    return client, client.cookies["csrftoken"].value


def _post(path: str, data: dict[str, str]) -> tuple[Client, Any]:
    client, token = _client(path)
    return client, client.post(path, {**data, "csrfmiddlewaretoken": token})


def _link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, body
    return match.group(1)


def _signup(username: str = "kestrel", email: str = "kestrel@example.test", **extra: str) -> Any:
    data = {
        "username": username,
        "email": email,
        "pseudonym": "kestrel",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **extra,
    }
    path = "/signup/" + (
        f"?{urlencode({'invitation': extra['invitation']})}" if "invitation" in extra else ""
    )
    return _post(path, data)[1]


def _sign_in(username: str, password: str) -> tuple[Client, Any]:
    return _post("/signin/", {"username": username, "password": password, "next": "/reports/"})


def test_sign_up_mail_verify_then_sign_in(db: None, mailoutbox: list[Any]) -> None:
    response = _signup()
    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    user = User.objects.get(username="kestrel")
    assert not user.is_active and {m.role for m in user.memberships.all()} == {Role.RESEARCHER}
    assert [m.to for m in mailoutbox] == [["kestrel@example.test"]]
    # Inactive: the password alone does not sign in.
    assert _sign_in("kestrel", NEW_PASSWORD)[1].status_code == 200
    link = _link(mailoutbox[0].body)
    client, token = _client(link)
    assert client.get(link).status_code == 200  # a page with a button; GET activates nothing
    assert not User.objects.get(pk=user.pk).is_active
    assert client.post(link, {"csrfmiddlewaretoken": token}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active
    assert AuditEvent.objects.filter(action="user.email_verify", object_id=str(user.pk)).exists()
    # One use: the same link is refused now.
    assert client.get(link).status_code == 404
    client, signed_in = _sign_in("kestrel", NEW_PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/reports/"
    assert client.get("/reports/").status_code == 200


def test_expired_verification_link_refused(db: None, mailoutbox: list[Any], settings: Any) -> None:
    _signup()
    link = _link(mailoutbox[0].body)
    # Older than the link lifetime: the same as a lifetime below the link's age.
    settings.PASSWORD_RESET_TIMEOUT = -1
    assert Client().get(link).status_code == 404
    assert Client().get(link.replace("/verify/", "/verify/x")).status_code == 404


def test_weak_password_and_taken_address(db: None, mailoutbox: list[Any]) -> None:
    weak = _signup(password1="password", password2="password")
    assert weak.status_code == 422 and b"too common" in weak.content
    make_user("owner")  # owner@example.test
    again = _signup(username="someone", email="OWNER@example.test")
    # The same answer as a fresh sign-up; the address's owner is told by mail instead.
    assert again.status_code == 302 and again["Location"] == "/signup/sent/"
    assert not User.objects.filter(username="someone").exists()
    assert "already has an account" in mailoutbox[-1].body


def test_invite_mode_needs_a_code(db: None, settings: Any, mailoutbox: list[Any]) -> None:
    settings.SIGNUP = "invite"
    page = Client().get("/signup/")
    assert b"by invitation" in page.content and b"password1" not in page.content
    assert _signup().status_code == 200 and not User.objects.exists()
    assert _signup(invitation="forged").status_code == 403
    url = invitation_create(actor=None, email="invited@example.test")
    code = parse_qs(urlsplit(url).query)["invitation"][0]
    assert AuditEvent.objects.filter(action="invitation.create").exists()
    # The invited address is used whatever is typed.
    response = _signup(username="invited", email="other@example.test", invitation=code)
    assert response.status_code == 302
    user = User.objects.get(username="invited")
    assert user.email == "invited@example.test" and mailoutbox[0].to == ["invited@example.test"]
    # Used up once an account has the address.
    again = _signup(username="invited2", invitation=code)
    assert again.status_code == 422 and b"used already" in again.content
    admin = invitation_code(email="boss@example.test", role="admin")  # forged only by a key holder
    refused = _signup(username="x", email="boss@example.test", invitation=admin)
    assert refused.status_code == 422 and not User.objects.filter(username="x").exists()


def test_closed_mode_explains(db: None, settings: Any) -> None:
    settings.SIGNUP = "closed"
    page = Client().get("/signup/")
    assert b"made by its administrators" in page.content
    assert _signup().status_code == 200 and not User.objects.exists()


def test_sign_in_page_links_the_ways_in(db: None) -> None:
    page = Client().get("/signin/").content.decode()
    assert 'href="/signup/"' in page and 'href="/signin/password-reset/"' in page
    assert "second factor" in page or "code from an authenticator" in page


def _reset(email: str) -> Any:
    return _post("/signin/password-reset/", {"email": email})[1]


def test_password_reset_round_trip_without_enumeration(db: None, mailoutbox: list[Any]) -> None:
    user = make_user("heron")
    unknown = _reset("nobody@example.test")
    known = _reset("heron@example.test")
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["heron@example.test"]
    link = _link(mailoutbox[0].body)
    client, token = _client(link)
    form_page = client.get(link, follow=True)
    assert b"new_password1" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": token,
        },
    )
    assert done.status_code == 302
    assert AuditEvent.objects.filter(action="password.reset", object_id=str(user.pk)).exists()
    assert _sign_in("heron", NEW_PASSWORD)[1]["Location"] == "/reports/"
    # The link worked once.
    assert b"not valid" in Client().get(link, follow=True).content


def test_staff_still_give_a_code_after_a_reset(db: None, mailoutbox: list[Any]) -> None:
    staff = make_user("boss", Role.ADMIN)
    device = enrol_totp(staff)
    _reset("boss@example.test")
    link = _link(mailoutbox[0].body)
    client, token = _client(link)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(
        set_url,
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": token,
        },
    )
    # The reset signed nobody in; the new password leads to the code page, not in.
    assert client.get("/reports/")["Location"].startswith("/signin/?")
    client, _ = _sign_in("boss", NEW_PASSWORD)
    assert client.get("/reports/")["Location"].startswith("/signin/two-factor/")
    token = client.cookies["csrftoken"].value
    code = {"code": totp_code(device), "next": "/reports/", "csrfmiddlewaretoken": token}
    assert client.post("/signin/two-factor/", code)["Location"] == "/reports/"
    assert client.get("/reports/").status_code == 200


@pytest.mark.parametrize("mode", ["open", "invite", "closed"])
def test_sign_up_link_in_navigation(db: None, settings: Any, mode: str) -> None:
    settings.SIGNUP = mode
    assert b'href="/signup/"' in Client().get("/").content


def test_administrators_make_invitations_on_a_page(db: None) -> None:
    admin = make_user("root", Role.ADMIN)
    enrol_totp(admin)
    researcher = make_user("someone", Role.RESEARCHER)
    assert sign_in(Client(), researcher).get("/account/invitations/").status_code == 404
    client = sign_in(Client(enforce_csrf_checks=True), admin)
    client.get("/account/invitations/")
    token = client.cookies["csrftoken"].value
    page = client.post(
        "/account/invitations/",
        {"email": "new@example.test", "role": "researcher", "csrfmiddlewaretoken": token},
    )
    assert page.status_code == 200 and b'id="invitation-link"' in page.content
    event = AuditEvent.objects.get(action="invitation.create")
    assert event.actor_id == admin.pk


def test_cli_invite_create_prints_a_working_link(
    db: None, settings: Any, capsys: pytest.CaptureFixture[str], mailoutbox: list[Any]
) -> None:
    settings.SIGNUP = "invite"
    assert main(["invite", "create", "--email", "cli@example.test", "--json"]) == 0
    link = json.loads(capsys.readouterr().out)["link"]
    code = parse_qs(urlsplit(link).query)["invitation"][0]
    assert _signup(username="fromcli", email="cli@example.test", invitation=code).status_code == 302
    assert main(["invite", "create", "--email", "x@example.test", "--role", "admin"]) == 2
