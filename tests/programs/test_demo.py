"""The demo shows issue #6: a default program's security.txt, a held-out abstract-first
program, and a scored case under an active embargo; loading twice creates nothing new."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.test import Client

from modelcvd.cases.models import Embargo
from modelcvd.demo import demo_load
from modelcvd.policy.models import Program
from modelcvd.policy.securitytxt import parse_security_txt


def test_demo_policy_data(db: None) -> None:
    demo_load()
    text = Client().get("/.well-known/security.txt").content.decode()
    assert parse_security_txt(text, now=datetime.now(UTC)).values("Contact") == (
        "mailto:security@modelcert.invalid",
    )
    benchmark = Program.objects.get(slug="acme-benchmark")
    assert benchmark.abstract_first and benchmark.benchmark_holdout
    embargo = Embargo.objects.get()
    assert embargo.state == "active" and embargo.case.tier
    assert demo_load().created == 0


def test_the_demo_security_txt_is_valid_with_its_default_http_base_url(
    db: None, settings: Any
) -> None:
    settings.BASE_URL = "http://127.0.0.1:8000"
    demo_load()
    text = Client().get("/.well-known/security.txt").content.decode()
    report = parse_security_txt(text, now=datetime.now(UTC))
    assert report.valid, report.issues
    assert "For local use only" in text
