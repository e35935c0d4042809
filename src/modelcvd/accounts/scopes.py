"""What a token may call: every API operation declares the scopes it needs; one check holds it.

A bearer token carries scopes (`vocabulary.TokenScope`); a signed-in browser session holds every
scope. Each operation declares what a token must hold to call it, under its `@router.<verb>`:

    @router.post("/cases/{case_id}/embargo", ...)
    @token_scope(TokenScope.TRIAGE, TokenScope.READ)           # every one of these
    def embargo(...): ...

    @token_scope(TokenScope.READ, one_of=(TokenScope.SUBMIT, TokenScope.TRIAGE))
    @token_scope(PUBLIC)    # anyone, anonymous included; a token lacking `read` reads as the public

How to choose: a read needs `read`. A write needs the scope of what it does (`submit`: a
reporter's or an assessor's own writing; `triage`: working a case, as a coordinator or a vendor;
`admin`: configuration), and `read` as well when its answer shows more than the caller sent
(ids, states and times aside): a POST that answers with the whole case needs `read`, or a
triage-only token reads cases through it.

Why a declaration and one check, not a call in each handler: a forgotten call let a `submit`
token propose and exit embargoes, post internal comments and read whole cases through POST
answers (issue 15.5). Here the check is in one place and denies by default:

- `operation_scopes`, a ninja view decorator added once to the whole API (modelcvd/api.py),
  puts the operation's declaration on the request before authentication runs, and writes it
  into the OpenAPI document (`x-token-scopes`, and the scopes of the `BearerToken` security
  requirement);
- `BearerToken.authenticate` (accounts/auth.py) calls `token_scope_check` as soon as it has
  found the token, before the body is parsed: a refused call learns nothing from validation;
- an operation without a declaration refuses every token, and tests/security/
  test_scope_matrix.py, generated from the OpenAPI document, fails on it.

A handler may narrow its declaration on what the body asks (`scope_narrow`: an internal comment
needs `triage` where a reporter's comment needs `submit`), never widen it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Final, TypeVar

from django.http import HttpRequest

from modelcvd.core.errors import Forbidden
from modelcvd.vocabulary import TokenScope

F = TypeVar("F", bound=Callable[..., Any])

# The key under which the declaration travels: on the handler, on the request, in the schema.
OPENAPI_KEY: Final = "x-token-scopes"
_ATTRIBUTE: Final = "token_scope_rule"


class _Public:
    """The declaration of an operation open to everyone (`PUBLIC`)."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = _Public()


@dataclass(frozen=True)
class ScopeRule:
    """What a token must hold: every scope of `required`, and one of `one_of` when it is not
    empty. `public`: no scope at all (a token without `read` then reads as the public)."""

    required: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()
    public: bool = False

    def allows(self, held: Iterable[str]) -> bool:
        held = frozenset(held)
        if self.public:
            return True
        return self.required <= held and (not self.one_of or bool(self.one_of & held))

    def refusal(self, held: Iterable[str]) -> str:
        """Why a token holding `held` is refused, naming the scopes it lacks."""
        held = frozenset(held)
        reasons = []
        missing = sorted(self.required - held)
        if len(missing) == 1:
            reasons.append(f"this token lacks the '{missing[0]}' scope")
        elif missing:
            names = " and ".join(f"'{m}'" for m in missing)
            reasons.append(f"this token lacks the {names} scopes")
        if self.one_of and not self.one_of & held:
            names = ", ".join(f"'{s}'" for s in sorted(self.one_of))
            reasons.append(f"this token needs one of the scopes {names}")
        return "; ".join(reasons)

    def alternatives(self) -> list[list[str]]:
        """The rule as OpenAPI states security: any one of these lists, all of its scopes."""
        if self.public:
            return [[]]
        if not self.one_of:
            return [sorted(self.required)]
        return [sorted(self.required | {s}) for s in sorted(self.one_of)]

    def openapi(self) -> dict[str, Any]:
        return {
            "public": self.public,
            "required": sorted(self.required),
            "one_of": sorted(self.one_of),
        }


def token_scope(
    *required: TokenScope | _Public, one_of: Iterable[TokenScope] = ()
) -> Callable[[F], F]:
    """Declare what a token must hold to call the operation (module docstring). Put it under
    the `@router.<verb>(...)` line, so the handler ninja registers carries it."""
    one = frozenset(s.value for s in one_of)
    if any(r is PUBLIC for r in required):
        if len(required) != 1 or one:
            raise TypeError("PUBLIC stands alone: an open operation needs no other scope")
        rule = ScopeRule(public=True)
    else:
        names = frozenset(r.value for r in required if isinstance(r, TokenScope))
        if not names and not one:
            raise TypeError("declare at least one scope, or PUBLIC")
        rule = ScopeRule(required=names, one_of=one)

    def declare(handler: F) -> F:
        setattr(handler, _ATTRIBUTE, rule)
        return handler

    return declare


def declared_rule(handler: Callable[..., Any]) -> ScopeRule | None:
    """The declaration on a handler, or None when it has none."""
    rule = getattr(handler, _ATTRIBUTE, None)
    return rule if isinstance(rule, ScopeRule) else None


def operation_scopes(run: Callable[..., Any]) -> Callable[..., Any]:
    """The ninja view decorator (`api.add_decorator(operation_scopes, mode="view")`): wraps
    each operation's `run`, which authenticates, parses and calls the handler. It hands the
    handler's declaration to the authentication on the request, and states it in the schema."""
    operation = getattr(inspect.unwrap(run), "__self__", None)
    handler = getattr(operation, "view_func", None)
    if operation is None or handler is None:
        raise TypeError("operation_scopes decorates a ninja Operation's run (mode='view')")
    rule = declared_rule(handler)
    if rule is not None:
        # Each mounted operation is ninja's own copy; its `openapi_extra` goes into the schema.
        operation.openapi_extra = {**(operation.openapi_extra or {}), OPENAPI_KEY: rule.openapi()}

    @wraps(run)
    def run_with_scopes(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        setattr(request, _ATTRIBUTE, rule)
        return run(request, *args, **kwargs)

    return run_with_scopes


def token_scope_check(request: HttpRequest, held: Iterable[str]) -> bool:
    """For a token holding `held`, on the operation this request calls: True when the token
    acts as its user, False when it reads as the public (an open operation, no `read`), and
    Forbidden (403, naming what it lacks) when the token may not call it at all, or the
    operation declares nothing (default deny)."""
    held = frozenset(held)
    rule = getattr(request, _ATTRIBUTE, None)
    if not isinstance(rule, ScopeRule):
        raise Forbidden("this operation declares no token scope: tokens may not call it")
    if rule.public:
        return TokenScope.READ.value in held
    if not rule.allows(held):
        raise Forbidden(rule.refusal(held))
    return True


def scope_narrow(request: HttpRequest, scope: TokenScope, why: str) -> None:
    """A further need that depends on what the body asks: it narrows the operation's
    declaration, never widens it. A browser session holds every scope."""
    if scope.value not in getattr(request, "scopes", frozenset()):
        raise Forbidden(f"this token lacks the '{scope.value}' scope ({why})")


def openapi_security(operation: dict[str, Any]) -> None:
    """State the declared scopes in an operation's OpenAPI security requirements: one
    `BearerToken` requirement per alternative, with its scopes (OpenAPI 3.1 allows scopes on
    any scheme), and the browser session as it was."""
    declared = operation.get(OPENAPI_KEY)
    security = operation.get("security")
    if not declared or not security or declared["public"]:
        return
    rule = ScopeRule(required=frozenset(declared["required"]), one_of=frozenset(declared["one_of"]))
    others = [s for s in security if "BearerToken" not in s]
    operation["security"] = [{"BearerToken": alt} for alt in rule.alternatives()] + others
