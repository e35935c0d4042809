"""Programs' security.txt (RFC 9116) and policy pages, through the full stack.

The check is policy/securitytxt.py's parser: required fields present, Expires an RFC 3339 date
in the future, no field outside the IANA registry, https URIs. The clock is fixed: rendering and
checking both take `now` explicitly (the served files are checked against the real clock).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from modelcvd.policy.models import Program
from modelcvd.policy.securitytxt import parse_security_txt
from modelcvd.policy.services import program_security_txt
from tests.factories import World

FIXED_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def configured(world: World, settings: Any) -> Program:
    settings.BASE_URL = "https://cvd.example.org"
    program = world.program
    assert program is not None
    program.security_contacts = "mailto:security@example.org\nhttps://cvd.example.org/reports/new/"
    program.encryption_url = "https://cvd.example.org/pgp-key.txt"
    program.acknowledgments_url = "https://cvd.example.org/hall-of-fame/"
    program.preferred_languages = "en, de"
    program.security_txt_expires = FIXED_NOW + timedelta(days=200)
    program.is_default = True
    program.save()
    return program


def test_rendered_file_passes_the_rfc_9116_check_with_a_fixed_clock(configured: Program) -> None:
    text = program_security_txt(configured, now=FIXED_NOW)
    report = parse_security_txt(text, now=FIXED_NOW)
    assert report.valid, report.issues
    assert not [i for i in report.issues if i.code == "unknown_field"]
    names = {name for name, _, _ in report.fields}
    assert names == {
        "Contact",
        "Expires",
        "Encryption",
        "Acknowledgments",
        "Preferred-Languages",
        "Canonical",
        "Policy",
        "CSAF",
    }
    # CSAF 2.0 requirement 8: the instance's CSAF provider (docs/csaf-provider.md).
    assert report.values("CSAF") == (
        "https://cvd.example.org/.well-known/csaf/provider-metadata.json",
    )
    assert report.values("Contact") == (
        "mailto:security@example.org",
        "https://cvd.example.org/reports/new/",
    )
    assert report.values("Policy") == ("https://cvd.example.org/programs/open-models/",)
    assert report.expires == FIXED_NOW + timedelta(days=200)
    # The same file a year later has expired, and the checker says so.
    later = parse_security_txt(text, now=FIXED_NOW + timedelta(days=365))
    assert later.expired and not later.valid


def test_without_a_pinned_date_the_file_expires_a_configured_number_of_days_ahead(
    configured: Program, settings: Any
) -> None:
    settings.SECURITY_TXT_DAYS = 90
    configured.security_txt_expires = None
    configured.save()
    report = parse_security_txt(program_security_txt(configured, now=FIXED_NOW), now=FIXED_NOW)
    assert report.valid and report.expires == FIXED_NOW + timedelta(days=90)


def test_both_urls_serve_a_valid_file(configured: Program) -> None:
    client = Client()
    default = client.get("/.well-known/security.txt")
    per_program = client.get("/programs/open-models/security.txt")
    for response in (default, per_program):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        report = parse_security_txt(response.content.decode(), now=datetime.now(UTC))
        assert report.valid, report.issues
    canonical = parse_security_txt(default.content.decode(), now=FIXED_NOW).values("Canonical")
    assert canonical == (
        "https://cvd.example.org/.well-known/security.txt",
        "https://cvd.example.org/programs/open-models/security.txt",
    )
    assert client.get("/programs/nope/security.txt").status_code == 404


def test_no_default_program_means_no_well_known_file(world: World) -> None:
    assert Client().get("/.well-known/security.txt").status_code == 404


def test_policy_page_shows_scope_safe_harbor_waiver_targets_and_deadlines(
    configured: Program,
) -> None:
    configured.scope_endpoints = "https://api.example.org/v1/chat"
    configured.out_of_scope = "Denial of service."
    configured.safe_harbor = "We will not pursue claims against good-faith research."
    configured.save()
    page = Client().get("/programs/open-models/").content.decode()
    for text in (
        "https://api.example.org/v1/chat",
        "Denial of service.",
        "We will not pursue claims",
        "we waive enforcement of our AI usage policies and terms of service",
        "Acknowledge within 2 business days",
        "Triage within 5 business days",
        "security.txt",
    ):
        assert text in page
    assert "<td>critical</td><td>30</td><td>90</td>" in page


def test_policy_update_validates_each_field_and_names_it(world: World, api_as: Any) -> None:
    client = api_as("admin").client
    token = api_as("admin").token

    def put(body: dict[str, Any]) -> Any:
        return client.put(
            "/api/v1/programs/open-models/policy",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    bad = put(
        {
            "remediation_days": {"critical": 10},
            "security_contacts": "security@example.org",
            "encryption_url": "http://insecure.example.org/key",
            "acknowledge_business_days": 0,
        }
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {
        "remediation_days",
        "security_contacts",
        "encryption_url",
        "acknowledge_business_days",
    }
    good = put(
        {
            "remediation_days": {"critical": 14, "high": 30, "medium": 60, "low": 120},
            "abstract_first": True,
            "benchmark_holdout": True,
        }
    )
    assert good.status_code == 200, good.content
    body = good.json()
    assert body["remediation_days"]["critical"] == 14
    assert body["abstract_first"] and body["benchmark_holdout"]
    assert body["security_txt_url"].endswith("/programs/open-models/security.txt")


def test_behind_plain_http_the_file_says_it_is_for_local_use_and_stays_valid(
    configured: Program, settings: Any
) -> None:
    """Issue 16: the demo's base URL is http, and RFC 9116 forbids http URIs in the file, so
    the file leaves its own links out and says at the top that it is for local use."""
    settings.BASE_URL = "http://127.0.0.1:8123"
    configured.security_contacts = "mailto:security@example.org\nhttp://insecure.example.org/"
    configured.save()
    text = Client().get("/.well-known/security.txt").content.decode()
    report = parse_security_txt(text, now=datetime.now(UTC))
    assert report.valid, report.issues
    assert text.startswith("# For local use only: this instance's base URL (http://127.0.0.1:8123)")
    assert report.values("Canonical") == report.values("Policy") == ()
    assert report.values("Contact") == ("mailto:security@example.org",)
    assert "http://" not in text.replace("(http://127.0.0.1:8123)", "")


def test_behind_https_the_canonical_url_is_https(configured: Program) -> None:
    text = Client().get("/.well-known/security.txt").content.decode()
    assert not text.startswith("#")
    report = parse_security_txt(text, now=datetime.now(UTC))
    assert all(url.startswith("https://") for url in report.values("Canonical"))
