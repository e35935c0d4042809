"""Domain errors. Services raise them; the API and the views turn them into 4xx answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a caller may see. `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class InvalidInput(DomainError):
    """Input that names a field and why it is wrong."""

    status = 422

    def __init__(self, errors: Sequence[FieldError], message: str = "invalid input") -> None:
        super().__init__(message)
        self.errors = list(errors)


class NotFound(DomainError):
    """Missing, or not visible to the actor: both answer exactly the same."""

    status = 404

    def __init__(self, message: str = "not found") -> None:
        super().__init__(message)


class RateLimited(DomainError):
    """Too many of these from this caller for now: try again later."""

    status = 429


class Forbidden(DomainError):
    """The actor may see the object but not do this to it."""

    status = 403


@dataclass
class IllegalTransition(DomainError):
    current: str
    target: str
    allowed: list[str] = field(default_factory=list)
    status = 409

    def __post_init__(self) -> None:
        DomainError.__init__(self, f"cannot go from {self.current!r} to {self.target!r}")


class EmbargoInForce(DomainError):
    """Publishing or disclosing before a live embargo's public date. An administrator may
    override it with a reason (audited); everyone else waits for the date."""

    status = 409

    def __init__(self, *, state: str, public_date: str) -> None:
        article = "an" if state[:1] in "aeiou" else "a"  # "an active", "a revised"
        super().__init__(
            f"the case is under {article} {state} embargo until {public_date}: nothing is "
            "published or disclosed before then (an administrator may override it, giving a "
            "reason)"
        )
        self.state = state
        self.public_date = public_date


class ApprovalRequired(DomainError):
    """The program asks a second coordinator to approve a publication (four eyes)."""

    status = 409


class SealRefused(DomainError):
    """A sealed value that does not open for the row it was reached through: it was sealed for
    another row (a database writer moved it, or copied its bytes), altered, or sealed in the old
    purpose-only form. The caller never gets plaintext; core.services records the refusal."""

    status = 409
