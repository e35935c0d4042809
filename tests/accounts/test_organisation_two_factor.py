"""Organisations may require a second factor of all their members (vendors read sealed
payloads too): set by `modelcvd two-factor require` (audited), it makes a member's
password-only session anonymous until they enrol and give a code, as for staff."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import TOTP

from modelcvd.accounts.models import Organisation
from modelcvd.accounts.services import organisation_two_factor_set
from modelcvd.accounts.twofactor import two_factor_required
from modelcvd.cli import main
from modelcvd.core.models import AuditEvent
from tests.factories import PASSWORD, World, token_for


def password_only(username: str, next_url: str) -> Client:
    client = Client(enforce_csrf_checks=False)
    response = client.post(
        "/signin/", {"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    return client


def test_members_of_an_organisation_that_requires_it_enrol_before_anything_works(
    world: World,
) -> None:
    vendor = world.users["vendor_a"]
    case = world.cases["a"]
    assert not two_factor_required(vendor)
    # Before: the vendor's password alone reads the case and its sealed parts.
    assert password_only("vendor_a", "/").get(f"/api/v1/cases/{case.pk}").status_code == 200

    organisation_two_factor_set(
        organisation=world.orgs["vendor_a"], required=True, actor=world.users["admin"]
    )
    event = AuditEvent.objects.get(action="organisation.two_factor")
    assert event.actor == world.users["admin"] and event.data == {"required": True}
    assert two_factor_required(vendor)
    assert not two_factor_required(world.users["vendor_b"])  # another organisation

    client = password_only("vendor_a", f"/cases/{case.pk}/")
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert client.get(f"/api/v1/reports/{world.reports['a'].pk}").status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/signin/two-factor/setup/?next=%2Fcases%2F{case.pk}%2F"

    setup = client.get(page.headers["Location"])
    assert b"Set up an authenticator app now to continue" in setup.content
    secret = re.search(rb'id="totp-secret">([A-Z2-7 ]+)<', setup.content)
    assert secret
    code = f"{TOTP(b32decode(secret.group(1).replace(b' ', b''))).token():06d}"
    done = client.post("/signin/two-factor/setup/", {"code": code, "next": f"/cases/{case.pk}/"})
    assert done.status_code == 200 and b"Your recovery codes" in done.content
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200

    # Lifting the requirement: a member without an app owes no code again; one who enrolled
    # keeps being asked (enrolment is theirs to keep).
    organisation_two_factor_set(
        organisation=world.orgs["vendor_a"], required=False, actor=world.users["admin"]
    )
    assert not two_factor_required(vendor)
    again = password_only("vendor_a", "/")
    assert again.get("/api/v1/me").status_code == 401


def test_bearer_tokens_stay_a_credential_of_their_own(world: World) -> None:
    organisation_two_factor_set(organisation=world.orgs["vendor_a"], required=True, actor=None)
    token = token_for(world.users["vendor_a"], ["read"])
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_cli_sets_and_lifts_the_requirement(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["two-factor", "require", "vendor-b", "--json"]) == 0
    assert '"require_two_factor": true' in capsys.readouterr().out
    assert Organisation.objects.get(slug="vendor-b").require_two_factor
    assert main(["two-factor", "require", "vendor-b", "--off"]) == 0
    assert "not required" in capsys.readouterr().out
    assert not Organisation.objects.get(slug="vendor-b").require_two_factor
    assert [e.data for e in AuditEvent.objects.filter(action="organisation.two_factor")] == [
        {"required": True},
        {"required": False},
    ]
    # Setting what is already set changes nothing and records nothing.
    assert main(["two-factor", "require", "vendor-b", "--off"]) == 0
    assert AuditEvent.objects.filter(action="organisation.two_factor").count() == 2
    assert main(["two-factor", "require", "no-such-org"]) == 3
