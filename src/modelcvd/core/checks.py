"""Settings that are fine for the embedded default and wrong in production.

Production (MODELCVD_PRODUCTION=1) refuses to start while any of these holds
(core.apps.CoreConfig.ready); `modelcvd demo` refuses to run there at all (cli/server.py).
"""

from __future__ import annotations

from django.conf import settings

# Django's own rule for a usable SECRET_KEY (security.W009), which it only warns about.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 5
# Placeholders that examples and tutorials ship: a key holding one was copied, not generated.
EXAMPLE_KEY_MARKERS = (
    "change-me",
    "changeme",
    "django-insecure",
    "insecure",
    "example",
    "secret-key",
)


def secret_key_problem(key: str) -> str | None:
    """Why `key` must not sign a production instance's sessions and tokens, if it must not."""
    if key == settings.DEFAULT_SECRET_KEY:
        return "MODELCVD_SECRET_KEY is the default"
    lowered = key.lower()
    if any(marker in lowered for marker in EXAMPLE_KEY_MARKERS):
        return "MODELCVD_SECRET_KEY is an example placeholder (generate one: see docs/deploy.md)"
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return (
            f"MODELCVD_SECRET_KEY is too weak (at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_DISTINCT} distinct)"
        )
    return None


def tls_problems() -> list[str]:
    """Why the instance would serve sessions over plain HTTP; none with the explicit override."""
    if settings.ALLOW_INSECURE_HTTP:
        return []
    problems = []
    if not settings.TLS:
        problems.append(
            "TLS is off (set MODELCVD_TLS=1 or an https MODELCVD_BASE_URL; "
            "MODELCVD_ALLOW_INSECURE_HTTP=1 overrides, loudly)"
        )
    if not settings.BASE_URL.startswith("https://"):
        problems.append("MODELCVD_BASE_URL is not https (links in e-mail would be plain HTTP)")
    return problems


def embedded_only_settings() -> list[str]:
    problems = []
    if (key_problem := secret_key_problem(settings.SECRET_KEY)) is not None:
        problems.append(key_problem)
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append("the database is SQLite (set DATABASE_URL to PostgreSQL)")
    if settings.CELERY_BROKER_URL.startswith("sqla+"):
        problems.append("the Celery broker is SQLite (set CELERY_BROKER_URL to Redis)")
    if settings.DEBUG:
        problems.append("MODELCVD_DEBUG is on")
    if not settings.KEK_ENV and not settings.KEY_FILE.exists():
        problems.append(f"the key file {settings.KEY_FILE} is missing (and MODELCVD_KEK is unset)")
    problems.extend(tls_problems())
    return problems
