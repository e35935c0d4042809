"""The exit codes of `modelcvd`, and the one place where an error becomes a code and a line.

| code | meaning |
|---|---|
| 0 | done |
| 1 | failed: the work was tried and did not succeed (a target, a server, a check, a surprise) |
| 2 | usage: bad arguments or bad input (argparse errors, invalid files, invalid fields) |
| 3 | not found or not allowed: the named object is missing or hidden from this account |
| 4 | refused by policy: the object's state or a rule forbids it (a conflict, a key in use) |

Domain errors carry the HTTP status the API answers with, so the CLI derives its code from
the same fact: 400/422 -> 2, 401/403/404 -> 3, 409 -> 4. Errors of the pure engines are
matched by class name below, so this module imports neither torch nor Django.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from modelcvd.core.errors import DomainError, InvalidInput


class Exit(IntEnum):
    """What the process tells its caller; the table in the module docstring."""

    DONE = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4


EXIT_MEANINGS: dict[Exit, str] = {
    Exit.DONE: "done",
    Exit.FAILED: "failed: the work was tried and did not succeed (a target, a server, a check, "
    "an unexpected error)",
    Exit.USAGE: "usage: bad arguments or bad input (a missing option, an unreadable or invalid "
    "file, an invalid field)",
    Exit.NOT_FOUND: "not found or not allowed: the named user, program, case, advisory or "
    "artifact does not exist or this account may not see it (both answer alike)",
    Exit.REFUSED: "refused by policy: the object's state or a rule forbids it (a conflict, an "
    "illegal transition, a key still in use)",
}

# What to do, when the error itself does not say.
_HINTS: dict[Exit, str] = {
    Exit.USAGE: "see `modelcvd {path} --help`",
    Exit.NOT_FOUND: "check the name or id",
    Exit.REFUSED: "check the object's state first",
}

# Errors of modules the CLI must not import up front (torch, Django models), by class name.
_BY_CLASS_NAME: dict[str, Exit] = {
    "modelcvd.verification.engine.spec.SpecError": Exit.USAGE,
    "modelcvd.verification.engine.targets.base.TargetError": Exit.FAILED,
    "modelcvd.verification.engine.runner.RunError": Exit.FAILED,
    "modelcvd.verification.engine.verdict.ComparisonRefused": Exit.REFUSED,
    "modelcvd.artifacts.digest.DigestError": Exit.USAGE,
    "modelcvd.artifacts.cards.CardError": Exit.USAGE,
    "modelcvd.forensics.weights.ForensicsError": Exit.USAGE,
    "modelcvd.policy.commitment.CommitmentError": Exit.USAGE,
    "modelcvd.core.backup.BackupError": Exit.FAILED,
    "django.core.exceptions.ImproperlyConfigured": Exit.FAILED,
}

# The optional `ml` extra; torch first, pinned, as the Makefile installs it (an unpinned torch
# pulls a multi-GB CUDA build).
ML_MODULES = frozenset({"torch", "transformers", "safetensors", "tokenizers", "accelerate", "gguf"})
ML_INSTALL = "pip install torch==2.13.0 'modelcvd[ml]'"


class CliError(Exception):
    """A failure the command explains itself: one line, an exit code, and what to do."""

    def __init__(self, code: Exit, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def exit_for_status(status: int) -> Exit:
    """The exit code for an HTTP status, from the API or from a domain error."""
    if status in (400, 422):
        return Exit.USAGE
    if status in (401, 403, 404):
        return Exit.NOT_FOUND
    if status == 409:
        return Exit.REFUSED
    return Exit.FAILED


def _domain_text(error: DomainError) -> str:
    if isinstance(error, InvalidInput) and error.errors:
        fields = "; ".join(f"{e.field}: {e.reason}" for e in error.errors)
        return fields if error.message == "invalid input" else f"{error.message}: {fields}"
    return error.message


def _class_names(error: BaseException) -> list[str]:
    return [f"{k.__module__}.{k.__qualname__}" for k in type(error).__mro__]


def failure(error: BaseException) -> CliError | None:
    """The error as a CliError, or None when it is a bug (shown as one line too, exit 1)."""
    if isinstance(error, CliError):
        return error
    if isinstance(error, DomainError):
        code = exit_for_status(error.status)
        return CliError(code, _domain_text(error), _HINTS.get(code, ""))
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in ML_MODULES:
        return CliError(
            Exit.FAILED,
            f"this command needs the machine-learning extra ({error.name} is not installed)",
            f"install it with `{ML_INSTALL}`",
        )
    for name in _class_names(error):
        if name in _BY_CLASS_NAME:
            code = _BY_CLASS_NAME[name]
            return CliError(code, str(error), _HINTS.get(code, ""))
    return None


def failure_with(prefix: str, error: BaseException) -> CliError:
    """The same code as `failure(error)`, its message after `prefix`: "no report filed: ..."."""
    known = failure(error)
    if known is None:
        return CliError(Exit.FAILED, f"{prefix}: {type(error).__name__}: {error}")
    return CliError(known.code, f"{prefix}: {known.message}", known.hint)


def server_failure(response: Any) -> CliError:
    """A server's non-success answer (an httpx response), coded like the same error here."""
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:200]}
    errors = "; ".join(f"{e['field']}: {e['reason']}" for e in body.get("errors", []))
    return CliError(
        exit_for_status(response.status_code),
        f"server answered {response.status_code}: {body.get('detail')}"
        + (f" - {errors}" if errors else ""),
    )


def error_line(path: str, error: CliError) -> str:
    """`modelcvd PATH: error: WHAT[: WHAT TO DO]`, always one line (PATH: "keys rotate")."""
    hint = error.hint.replace("{path}", path)
    text = f"{f'modelcvd {path}'.strip()}: error: {error.message}" + (f": {hint}" if hint else "")
    return " ".join(text.split("\n"))
