"""security.txt (RFC 9116): render a program's file, and parse and check anyone's.

`render_security_txt` writes the file the platform serves at /.well-known/security.txt for a
program. `parse_security_txt` reads any security.txt (ours, or a vendor's we route reports to)
and reports every problem it finds instead of stopping at the first, so an expired or sloppy
file still yields its contacts. "Now" is always injected: whether a file has expired depends on
the clock, and tests need a fixed one.

Checks: Contact and Expires present; exactly one Expires, an RFC 3339 date-time in the future;
at most one Preferred-Languages; no fields outside the IANA registry; every URI field holds an
absolute URI, and web URIs use https (RFC 9116 sections 2.5 and 3). PGP cleartext signatures are
recognised and unwrapped but not verified (that needs the signer's key).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

# Field names in the IANA "security.txt Fields" registry (RFC 9116 plus CSAF, added by OASIS CSAF
# 2.0), in the spelling we write; matching is case-insensitive as the RFC requires.
KNOWN_FIELDS: tuple[str, ...] = (
    "Acknowledgments",
    "Canonical",
    "Contact",
    "CSAF",
    "Encryption",
    "Expires",
    "Hiring",
    "Policy",
    "Preferred-Languages",
)
_CANONICAL_NAME = {name.lower(): name for name in KNOWN_FIELDS}
# Fields whose value must be a URI (Expires and Preferred-Languages are not).
URI_FIELDS = frozenset(
    {"Acknowledgments", "Canonical", "Contact", "CSAF", "Encryption", "Hiring", "Policy"}
)
# RFC 9116 2.5.3: "SHOULD be less than a year into the future".
EXPIRES_RECOMMENDED_MAX = timedelta(days=366)

_FIELD_LINE = re.compile(r"^(?P<name>[A-Za-z0-9-]+):[ \t]*(?P<value>.*?)[ \t]*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# RFC 3339 date-time (RFC 9116 2.5.5 requires the "internet date/time format").
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")

_PGP_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----"
_PGP_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"


class Level(StrEnum):
    """How bad an issue is: errors make the file invalid, warnings are RFC SHOULDs."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    """One problem found in a security.txt, with the line it is on (1-based; 0 for the file)."""

    code: str
    message: str
    line: int = 0
    level: Level = Level.ERROR


@dataclass(frozen=True)
class SecurityTxt:
    """The content of a security.txt. Contact and an aware Expires are mandatory."""

    contact: tuple[str, ...]
    expires: datetime
    encryption: tuple[str, ...] = ()
    acknowledgments: tuple[str, ...] = ()
    preferred_languages: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    hiring: tuple[str, ...] = ()
    csaf: tuple[str, ...] = ()
    # Comment lines ("# ...", RFC 9116 section 2.3) written first, for people reading the file.
    comments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.contact, str):
            raise TypeError("contact is a tuple of URIs, not a single string")
        if not self.contact:
            raise ValueError("a security.txt needs at least one Contact")
        if self.expires.tzinfo is None or self.expires.utcoffset() is None:
            raise ValueError("expires must be a timezone-aware datetime")


@dataclass(frozen=True)
class SecurityTxtReport:
    """What a parse found: the fields in file order, the issues, and the parsed values.

    `document` is set when the file has the mandatory fields in usable form (even if, say, it
    has expired): callers can still use an expired file's contacts, knowing it is expired.
    """

    fields: tuple[tuple[str, str, int], ...]
    issues: tuple[Issue, ...]
    signed: bool
    expires: datetime | None
    document: SecurityTxt | None

    @property
    def valid(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(issue.level is Level.ERROR for issue in self.issues)

    @property
    def expired(self) -> bool:
        return any(issue.code == "expired" for issue in self.issues)

    def values(self, name: str) -> tuple[str, ...]:
        """Every value of a field, matched case-insensitively, in file order."""
        return tuple(
            value for field_name, value, _ in self.fields if field_name.lower() == name.lower()
        )


def _format_expires(expires: datetime) -> str:
    return expires.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_security_txt(document: SecurityTxt) -> str:
    """The file's text: one "Field: value" line per value, LF line endings, trailing newline.

    Fields are written in a fixed order (Contact first, as readers look for it first).
    Expires is written in UTC with seconds precision.
    """
    lines: list[str] = []
    for comment in document.comments:
        if "\n" in comment or "\r" in comment:
            raise ValueError(f"a comment contains a line break: {comment!r}")
        lines.append(f"# {comment}")

    def emit(name: str, values: Sequence[str]) -> None:
        for value in values:
            if "\n" in value or "\r" in value:
                # A newline would let a value inject further fields into the file.
                raise ValueError(f"{name} value contains a line break: {value!r}")
            lines.append(f"{name}: {value}")

    emit("Contact", document.contact)
    lines.append(f"Expires: {_format_expires(document.expires)}")
    emit("Encryption", document.encryption)
    emit("Acknowledgments", document.acknowledgments)
    if document.preferred_languages:
        emit("Preferred-Languages", [", ".join(document.preferred_languages)])
    emit("Canonical", document.canonical)
    emit("Policy", document.policy)
    emit("Hiring", document.hiring)
    emit("CSAF", document.csaf)
    return "\n".join(lines) + "\n"


def _unwrap_signature(lines: list[str]) -> tuple[list[tuple[int, str]], bool, list[Issue]]:
    """The numbered lines of the signed content, whether the file was signed, and issues."""
    numbered = list(enumerate(lines, start=1))
    first = next((i for i, (_, text) in enumerate(numbered) if text.strip()), None)
    if first is None or numbered[first][1].strip() != _PGP_BEGIN:
        return numbered, False, []
    issues: list[Issue] = []
    body_start = first + 1
    # Armor headers ("Hash: SHA512") run until the first empty line.
    while body_start < len(numbered) and numbered[body_start][1].strip():
        body_start += 1
    body_start += 1
    end = next(
        (i for i in range(body_start, len(numbered)) if numbered[i][1].strip() == _PGP_SIGNATURE),
        None,
    )
    if end is None:
        issues.append(Issue("malformed_signature", "PGP signed message without a signature block"))
        end = len(numbered)
    body = []
    for number, text in numbered[body_start:end]:
        # RFC 4880 7.1: lines starting with "-" are dash-escaped as "- -...".
        body.append((number, text[2:] if text.startswith("- ") else text))
    return body, True, issues


def _check_uri(name: str, value: str, line: int) -> list[Issue]:
    if not _SCHEME.match(value) or any(ch.isspace() for ch in value):
        return [Issue("invalid_uri", f"{name} must be an absolute URI, got {value!r}", line)]
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "http":
        return [Issue("insecure_uri", f"{name} web URI must use https, got {value!r}", line)]
    if scheme == "https" and not parts.netloc:
        return [Issue("invalid_uri", f"{name} https URI has no host: {value!r}", line)]
    if name == "Contact" and scheme not in ("https", "mailto", "tel"):
        return [
            Issue(
                "unusual_contact_scheme",
                f"Contact uses the {scheme!r} scheme; readers expect https, mailto or tel",
                line,
                Level.WARNING,
            )
        ]
    return []


def _parse_expires(value: str, line: int) -> tuple[datetime | None, list[Issue]]:
    if not _RFC3339.match(value):
        return None, [
            Issue(
                "invalid_expires",
                f"Expires must be an RFC 3339 date-time (e.g. 2027-01-31T23:59:59Z), got {value!r}",
                line,
            )
        ]
    normalised = value.upper().replace(" ", "T").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError:
        return None, [Issue("invalid_expires", f"Expires is not a real date-time: {value!r}", line)]
    return parsed, []


def parse_security_txt(text: str, *, now: datetime) -> SecurityTxtReport:
    """Parse a security.txt and check it against RFC 9116 as of `now` (timezone-aware).

    Never raises on bad content: everything wrong is in the report's issues. Raises ValueError
    only for a naive `now`, which is a bug in the caller.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    text = text.removeprefix("\ufeff")
    body, signed, issues = _unwrap_signature(text.splitlines())
    fields: list[tuple[str, str, int]] = []
    for number, raw in body:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _FIELD_LINE.match(raw)
        if match is None:
            issues.append(Issue("malformed_line", f"not a 'Field: value' line: {raw!r}", number))
            continue
        name, value = match["name"], match["value"]
        canonical = _CANONICAL_NAME.get(name.lower())
        if canonical is None:
            issues.append(Issue("unknown_field", f"unknown field {name!r}", number))
            fields.append((name, value, number))
            continue
        fields.append((canonical, value, number))
        if not value:
            issues.append(Issue("empty_value", f"{canonical} has no value", number))
        elif canonical in URI_FIELDS:
            issues.extend(_check_uri(canonical, value, number))

    def lines_of(name: str) -> list[tuple[str, int]]:
        return [(value, number) for field_name, value, number in fields if field_name == name]

    contacts = lines_of("Contact")
    if not contacts:
        issues.append(Issue("missing_contact", "Contact is required (RFC 9116 2.5.3)"))

    expires: datetime | None = None
    expires_lines = lines_of("Expires")
    if not expires_lines:
        issues.append(Issue("missing_expires", "Expires is required (RFC 9116 2.5.5)"))
    elif len(expires_lines) > 1:
        issues.append(
            Issue(
                "multiple_expires",
                f"Expires must appear once, found {len(expires_lines)} times",
                expires_lines[1][1],
            )
        )
    if expires_lines:
        value, number = expires_lines[0]
        expires, expires_issues = _parse_expires(value, number)
        issues.extend(expires_issues)
        if expires is not None:
            if expires <= now:
                issues.append(Issue("expired", f"expired on {_format_expires(expires)}", number))
            elif expires - now > EXPIRES_RECOMMENDED_MAX:
                issues.append(
                    Issue(
                        "expires_too_far",
                        "Expires SHOULD be less than a year into the future",
                        number,
                        Level.WARNING,
                    )
                )

    languages: tuple[str, ...] = ()
    language_lines = lines_of("Preferred-Languages")
    if len(language_lines) > 1:
        issues.append(
            Issue(
                "multiple_preferred_languages",
                "Preferred-Languages must appear at most once",
                language_lines[1][1],
            )
        )
    if language_lines:
        value, number = language_lines[0]
        languages = tuple(tag.strip() for tag in value.split(",") if tag.strip())
        bad = [tag for tag in languages if not _LANGUAGE_TAG.match(tag)]
        if bad:
            issues.append(Issue("invalid_language", f"not language tags: {', '.join(bad)}", number))

    document = None
    if contacts and expires is not None:
        document = SecurityTxt(
            contact=tuple(v for v, _ in contacts),
            expires=expires,
            encryption=tuple(v for v, _ in lines_of("Encryption")),
            acknowledgments=tuple(v for v, _ in lines_of("Acknowledgments")),
            preferred_languages=languages,
            canonical=tuple(v for v, _ in lines_of("Canonical")),
            policy=tuple(v for v, _ in lines_of("Policy")),
            hiring=tuple(v for v, _ in lines_of("Hiring")),
            csaf=tuple(v for v, _ in lines_of("CSAF")),
        )
    return SecurityTxtReport(
        fields=tuple(fields),
        issues=tuple(sorted(issues, key=lambda issue: issue.line)),
        signed=signed,
        expires=expires,
        document=document,
    )
