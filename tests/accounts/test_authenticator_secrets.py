"""Authenticator secrets at rest (issue 15, defect 1, the TOTP part) and recovery codes
(defect 6).

A TOTP secret is sealed like a payload and every opening is audited; recovery codes are
stored as keyed hashes only. After a real enrolment through the pages, neither the database
file nor a `modelcvd backup` archive holds the secret in any encoding, nor any recovery code.
Recovery codes work once each at the code prompt, are audited, throttled when wrong, and can
be renewed from a verified session.
"""

from __future__ import annotations

import base64
import html
import re
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP

from modelcvd.accounts.models import Role, TotpDevice, User
from modelcvd.accounts.twofactor import recovery_codes_for, totp_device_for, totp_qr_svg
from modelcvd.cli import main
from modelcvd.core.backup import backup_create
from modelcvd.core.models import AuditEvent, SealedBlob
from tests.factories import PASSWORD, World, build_world, make_user, sign_in, totp_code

SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
URI_RE = re.compile(r'id="totp-uri">([^<]+)<')
CODE_RE = re.compile(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>")


def password_only(username: str, next_url: str = "/triage/") -> Client:
    client = Client()
    response = client.post(
        "/signin/", {"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    return client


def enrol_through_the_pages(client: Client) -> tuple[bytes, list[str]]:
    """Scan (here: read) the secret from the setup page, confirm it with a code; returns the
    secret and the recovery codes the confirmation shows."""
    page = client.get("/signin/two-factor/setup/?next=/triage/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.content.decode()
    found = SECRET_RE.search(text)
    assert found
    secret = base64.b32decode(found.group(1).replace(" ", ""))
    # The QR code carries the setup link, drawn inline: no script, no style, no request.
    uri = URI_RE.search(text)
    assert uri and html.unescape(uri.group(1)).startswith("otpauth://totp/")
    assert totp_qr_svg(html.unescape(uri.group(1))) in text
    assert re.search(
        r'<figure class="qr" id="totp-qr"><svg width="\d+" height="\d+" class="qr">', text
    )
    assert "<script" not in text and "style=" not in text and "<img" not in text
    done = client.post(
        "/signin/two-factor/setup/", {"code": f"{TOTP(secret).token():06d}", "next": "/triage/"}
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = CODE_RE.findall(done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def encodings(secret: bytes) -> list[bytes]:
    b32 = base64.b32encode(secret)
    spaced = b" ".join(b32[i : i + 4] for i in range(0, len(b32), 4))
    forms = [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        b32,
        b32.lower(),
        b32.rstrip(b"="),
        spaced,
        base64.b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]
    return forms


def code_forms(codes: list[str]) -> list[bytes]:
    forms = []
    for code in codes:
        forms += [code.encode(), code.replace("-", "").encode(), code.upper().encode()]
    return forms


def archive_bytes(path: Path) -> bytes:
    with tarfile.open(path) as tar:
        return b"".join(
            tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        )


@pytest.mark.django_db(transaction=True)
def test_neither_the_database_nor_a_backup_holds_a_secret_or_a_recovery_code(
    tmp_path: Path,
) -> None:
    world = build_world()
    triager = make_user("new_triager", Role.TRIAGER, world.orgs["coordinator"])
    client = password_only("new_triager")
    secret, codes = enrol_through_the_pages(client)
    # Signed in with the code just confirmed; a recovery code works at the next sign-in.
    assert client.get("/triage/").status_code == 200
    device = totp_device_for(triager)
    assert device is not None and device.sealed_key.purpose == "accounts.totp_key"
    assert not any(f.name == "key" for f in TotpDevice._meta.fields)

    backup_create(tmp_path / "backup.tar.gz")
    stored = archive_bytes(tmp_path / "backup.tar.gz")
    assert b"new_triager" in stored
    for form in encodings(secret) + code_forms(codes):
        assert form not in stored, form
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        files = [p for p in (name, Path(f"{name}-wal")) if p.exists()]
        raw = b"".join(p.read_bytes() for p in files)
        assert b"new_triager" in raw  # the scan reads where the rows are
        for form in encodings(secret) + code_forms(codes):
            assert form not in raw, form
    # What the backup holds instead: the sealed secret and the codes' keyed hashes.
    with tarfile.open(tmp_path / "backup.tar.gz") as tar:
        names = tar.getnames()
    assert {"db/accounts.totpdevice.jsonl", "db/accounts.recoverycode.jsonl"} <= set(names)


def test_each_code_check_opens_the_sealed_secret_under_audit(world: World) -> None:
    triager = world.users["triager"]
    device = totp_device_for(triager)
    assert device is not None
    client = password_only("triager")
    response = client.post("/signin/two-factor/", {"code": totp_code(device), "next": "/triage/"})
    assert response.status_code == 302
    opened = AuditEvent.objects.get(action="seal.open", actor=triager)
    assert opened.data == {"purpose": "accounts.totp_key"}
    assert opened.object_type == "accounts.totpdevice" and opened.object_id == str(device.pk)


def issue_codes(world: World, username: str) -> list[str]:
    client = sign_in(Client(), world.users[username])
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and b"Unused recovery codes" in page.content
    made = client.post("/account/two-factor/")
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    codes = CODE_RE.findall(made.content.decode())
    assert len(codes) == 10
    return codes


def recovery_actions(user: User) -> list[tuple[str, dict[str, object]]]:
    return [
        (e.action, e.data)
        for e in AuditEvent.objects.filter(
            actor=user, action__in=["auth.recovery_code_used", "auth.recovery_code_failed"]
        )
    ]


def test_a_recovery_code_works_once_and_is_audited(world: World) -> None:
    triager = world.users["triager"]
    codes = issue_codes(world, "triager")
    assert AuditEvent.objects.get(action="auth.recovery_codes_issued").data == {"count": 10}

    client = password_only("triager")
    # Typed as people do: upper case, spaces instead of dashes.
    typed = codes[0].upper().replace("-", " ")
    used = client.post("/signin/two-factor/", {"code": typed, "next": "/triage/"})
    assert used.status_code == 302 and used.headers["Location"] == "/triage/"
    assert client.get("/triage/").status_code == 200
    assert client.get("/api/v1/me").json()["username"] == "triager"
    assert recovery_actions(triager) == [("auth.recovery_code_used", {"remaining": 9})]

    # The same code, in another session: refused, audited, and the codes throttled.
    other = password_only("triager")
    again = other.post("/signin/two-factor/", {"code": codes[0], "next": "/triage/"})
    assert again.status_code == 422 and b"was used already" in again.content
    assert other.get("/api/v1/me").status_code == 401
    assert recovery_actions(triager)[-1] == ("auth.recovery_code_failed", {})
    throttled = other.post("/signin/two-factor/", {"code": codes[1], "next": "/triage/"})
    assert throttled.status_code == 422 and b"Too many wrong codes" in throttled.content
    code_set = recovery_codes_for(triager)
    assert code_set is not None
    type(code_set).objects.filter(pk=code_set.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=10)
    )
    assert other.post("/signin/two-factor/", {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(world: World) -> None:
    old = issue_codes(world, "admin")
    new = issue_codes(world, "admin")
    assert not set(old) & set(new)
    client = password_only("admin")
    assert client.post("/signin/two-factor/", {"code": old[0]}).status_code == 422
    code_set = recovery_codes_for(world.users["admin"])
    assert code_set is not None
    type(code_set).objects.filter(pk=code_set.pk).update(throttling_failure_timestamp=None)
    assert client.post("/signin/two-factor/", {"code": new[0]}).status_code == 302


def test_the_code_prompt_names_what_it_accepts(world: World) -> None:
    client = password_only("triager")
    response = client.post("/signin/two-factor/", {"code": "12345", "next": "/triage/"})
    assert response.status_code == 422
    assert b"or a recovery code (xxxx-xxxx-xxxx)" in response.content
    assert not AuditEvent.objects.filter(action="auth.recovery_code_failed").exists()


def test_recovery_codes_need_an_authenticator(world: World) -> None:
    client = sign_in(Client(), world.users["researcher_a"])
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and b"Set up an authenticator app" in page.content
    made = client.post("/account/two-factor/")
    assert made.status_code == 302
    assert made.headers["Location"].startswith("/signin/two-factor/setup/")


def test_an_operator_resets_a_lost_second_factor(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    triager = world.users["triager"]
    issue_codes(world, "triager")
    device = totp_device_for(triager)
    assert device is not None
    blob_id = device.sealed_key_id
    verified = sign_in(Client(), triager)
    assert verified.get("/triage/").status_code == 200

    assert main(["two-factor", "reset", "triager", "--reason", "ticket 42: phone lost"]) == 0
    assert "second factor removed" in capsys.readouterr().out
    assert totp_device_for(triager) is None and recovery_codes_for(triager) is None
    assert not SealedBlob.objects.filter(pk=blob_id).exists()
    event = AuditEvent.objects.get(action="auth.two_factor_reset")
    assert event.reason == "ticket 42: phone lost" and event.object_id == str(triager.pk)
    # The session verified by the removed app owes a code again: staff enrol anew.
    page = verified.get("/triage/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/signin/two-factor/setup/?next=")
    assert verified.get("/api/v1/me").status_code == 401

    assert main(["two-factor", "reset", "triager", "--reason", "again"]) == 0
    assert "had no second factor" in capsys.readouterr().out
    assert main(["two-factor", "reset", "ghost", "--reason", "x"]) == 3
    assert main(["two-factor", "reset", "triager", "--reason", " "]) == 2
