"""What a target is: something that answers a conversation, once per seeded trial request."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.spec import Message, SamplingSpec


class TargetError(RuntimeError):
    """A target that could not be loaded or could not answer.

    The message is for the operator and staff; `public` (a fixed error class and an HTTP status)
    is what a run shows to anyone who may see it. Neither ever holds text the remote service
    sent: an error body may echo the conversation, or say anything its operator wants shown.
    """

    def __init__(
        self,
        message: str,
        *,
        error_class: str = "target error",
        status: int | None = None,
        failures: tuple[RequestFailure, ...] = (),
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.status = status
        self.failures = failures

    @property
    def public(self) -> str:
        return f"{self.error_class} (HTTP {self.status})" if self.status else self.error_class


@dataclass(frozen=True)
class RequestFailure:
    """One failed attempt at a trial's request to a remote target, retried or final.

    Only fixed phrases and numbers: safe to show wherever the run is shown (never remote text).
    `waited_s` is the pause before the next attempt (0 when there was none).
    """

    index: int
    attempt: int
    error_class: str
    status: int | None = None
    retried: bool = False
    waited_s: float = 0.0

    @property
    def public(self) -> str:
        return f"{self.error_class} (HTTP {self.status})" if self.status else self.error_class


@dataclass(frozen=True)
class GenerationRequest:
    """One trial's input: the conversation, sampling settings and the trial's own seed."""

    index: int
    messages: tuple[Message, ...]
    sampling: SamplingSpec
    seed: int


@dataclass(frozen=True)
class Generation:
    """One trial's output and the model that actually produced it."""

    index: int
    response: str
    identity: ModelIdentity
    finish_reason: str = ""
    # Remote targets: the failed attempts before this answer, and the tokens it generated
    # (as the endpoint counted them; None when it did not say).
    failures: tuple[RequestFailure, ...] = ()
    completion_tokens: int | None = None


class Target(Protocol):
    """A model under test.

    `replayable` says whether any single trial can be re-run alone and give the same text; the
    runner copies it onto the run so a reader knows whether "rerun trial 17" is meaningful.
    """

    @property
    def identity(self) -> ModelIdentity: ...

    @property
    def replayable(self) -> bool: ...

    @property
    def batch_size(self) -> int: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[Generation]:
        """Answer every request; yields as they finish, in any order."""
        ...

    def close(self) -> None: ...
