"""The caller's own account: public name and the sealed real identity."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.identity import identity_open
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.accounts.selectors import roles_of
from modelcvd.accounts.services import identity_set

router = Router(tags=["account"], auth=API_AUTH)


class MeOut(Schema):
    username: str
    public_name: str = Field(description="What vendors and the public see: the pseudonym when set.")
    roles: list[str]
    has_sealed_identity: bool


class IdentityIn(Schema):
    legal_name: str = Field(min_length=1, max_length=300)
    email: str = Field("", max_length=300)
    affiliation: str = Field("", max_length=300)


class IdentityOut(Schema):
    legal_name: str
    email: str
    affiliation: str


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=1000)


@router.get("/me", response=MeOut, summary="Who am I, as others see me")
@token_scope(TokenScope.READ)
def me(request: HttpRequest) -> dict[str, Any]:
    user = api_user(request)
    return {
        "username": user.username,
        "public_name": user.public_name,
        "roles": sorted(roles_of(user)),
        "has_sealed_identity": hasattr(user, "identity"),
    }


@router.put("/me/identity", response={204: None}, summary="Seal my real identity")
@token_scope(one_of=(TokenScope.SUBMIT, TokenScope.ADMIN))
def identity_put(request: HttpRequest, body: IdentityIn) -> Status[None]:
    user = api_user(request)
    identity_set(user=user, actor=user, values=body.model_dump())
    return Status(204, None)


@router.post(
    "/me/identity/unseal", response=IdentityOut, summary="Read my sealed identity (audited)"
)
@token_scope(TokenScope.READ)
def identity_get(request: HttpRequest, body: ReasonIn) -> dict[str, Any]:
    user = api_user(request)
    return identity_open(user=user, actor=user, reason=body.reason)
