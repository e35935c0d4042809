"""Production mode refuses unsafe settings (issue 15, defect 8): the deploy example's
placeholder key or any weak key, plain HTTP without an explicit override (which is then
logged as a WARNING at every start), and `modelcvd demo` with its published password."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import modelcvd.settings as module
from modelcvd.cli import main
from modelcvd.core.apps import production_refuses_unsafe_settings
from modelcvd.core.checks import embedded_only_settings, secret_key_problem
from modelcvd.core.models import User

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k7#Qz9!vR2@mW4$tY6%uI8^oP0&aS1*dF3(gH5)jL7_xC9+bN2=eT4-wZ6"


def _example_key() -> str:
    text = (ROOT / "deploy" / "modelcvd.env.example").read_text()
    found = re.search(r"^MODELCVD_SECRET_KEY=(.*)$", text, re.MULTILINE)
    assert found is not None
    return found.group(1)


@pytest.fixture
def production(settings: Any, tmp_path: Path) -> Any:
    """Settings that pass every production check; each test spoils one."""
    settings.PRODUCTION = True
    settings.SECRET_KEY = GOOD_KEY
    settings.CELERY_BROKER_URL = "redis://redis.internal:6379/0"
    settings.DEBUG = False
    settings.KEK_ENV = "x"
    settings.TLS = True
    settings.BASE_URL = "https://cvd.example.org"
    settings.ALLOW_INSECURE_HTTP = False
    assert _problems() == []
    return settings


def _problems() -> list[str]:
    """The production problems, less the test database's engine (SQLite in half the runs)."""
    return [p for p in embedded_only_settings() if not p.startswith("the database is SQLite")]


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-50-random-characters-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "insecure-embedded-default-change-me",
        "django-insecure-" + "q" * 60,
        "short-but-random-Zx81!",
        "ab" * 40,  # long, two distinct characters
    ],
)
def test_example_and_weak_secret_keys_are_refused(production: Any, key: str) -> None:
    production.SECRET_KEY = key
    problems = _problems()
    assert len(problems) == 1 and problems[0].startswith("MODELCVD_SECRET_KEY is")
    with pytest.raises(ImproperlyConfigured, match="MODELCVD_SECRET_KEY"):
        production_refuses_unsafe_settings(problems)


def test_the_deploy_examples_key_is_refused() -> None:
    assert secret_key_problem(_example_key()) is not None


def test_plain_http_is_refused_unless_allowed_loudly(
    production: Any, caplog: pytest.LogCaptureFixture
) -> None:
    production.TLS = False
    production.BASE_URL = "http://cvd.example.org"
    problems = _problems()
    assert [p.split(" (")[0] for p in problems] == ["TLS is off", "MODELCVD_BASE_URL is not https"]
    with pytest.raises(ImproperlyConfigured, match="TLS is off"):
        production_refuses_unsafe_settings(problems)

    production.ALLOW_INSECURE_HTTP = True
    with caplog.at_level(logging.WARNING, logger="modelcvd.security"):
        production_refuses_unsafe_settings(_problems())
    (record,) = [r for r in caplog.records if "MODELCVD_ALLOW_INSECURE_HTTP" in r.getMessage()]
    assert record.levelno == logging.WARNING


def test_tls_follows_an_https_base_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELCVD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MODELCVD_TLS", raising=False)
    monkeypatch.setenv("MODELCVD_BASE_URL", "https://cvd.example.org")
    try:
        fresh = importlib.reload(module)
        assert fresh.TLS and fresh.SESSION_COOKIE_SECURE and fresh.CSRF_COOKIE_SECURE
        assert fresh.SECURE_HSTS_SECONDS >= 31536000
        monkeypatch.setenv("MODELCVD_PROXY_SSL_HEADER", "X-Forwarded-Proto")
        fresh = importlib.reload(module)
        assert fresh.SECURE_SSL_REDIRECT
        assert fresh.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    finally:
        monkeypatch.undo()
        importlib.reload(module)


@pytest.mark.django_db
def test_demo_is_refused_in_production_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELCVD_PRODUCTION", "1")
    assert main(["demo", "--no-serve", "--no-model"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith("modelcvd demo: error: demo refuses to run in production mode")
    assert "\n" not in err
    assert not User.objects.filter(username="admin").exists()
