"""Credit and bounty endpoints. The hall of fame is public; bounties are the researcher's and
the program staff's only (404 for everybody else)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.credits.models import Bounty, Credit
from modelcvd.credits.selectors import (
    bounties_visible_for_case,
    bounty_get_visible,
    credits_for_case,
    credits_mine,
    hall_of_fame,
)
from modelcvd.credits.services import (
    bounty_award,
    bounty_set_donation,
    bounty_set_status,
    credit_grant,
    credit_respond,
)
from modelcvd.policy.selectors import program_get
from modelcvd.vocabulary import CreditType

router = Router(tags=["credits"], auth=API_AUTH)

# Kept for importers of the old name; the type is the vocabulary's.
CreditTypeName = CreditType


class CreditIn(Schema):
    credit_type: CreditType
    user: str | None = Field(None, max_length=150, description="Username of the person.")
    name: str = Field("", max_length=120, description="For a tool or a sponsor without account.")


class CreditOut(Schema):
    id: int
    case_id: int
    name: str = Field(description="Public name: the pseudonym when the person has one.")
    credit_type: CreditType
    status: str
    listed: bool
    created_at: datetime


class ConflictDetail(Schema):
    detail: str


class RespondIn(Schema):
    accept: bool
    listed: bool = Field(True, description="Appear in the hall of fame and advisories.")


class HallOfFameOut(Schema):
    name: str
    credits: int
    types: list[str]
    latest: datetime


class BountyIn(Schema):
    researcher: str = Field(max_length=150, description="Username of the researcher.")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. EUR")
    note: str = Field("", max_length=5000)


class BountyOut(Schema):
    id: int
    case_id: int
    researcher: str
    amount: str = Field(description="Decimal as a string, exact.")
    currency: str
    status: str
    donate: bool
    charity: str
    note: str
    created_at: datetime


class BountyStatusIn(Schema):
    status: Bounty.Status


class DonationIn(Schema):
    donate: bool
    charity: str = Field("", max_length=200)


def credit_out(c: Credit) -> dict[str, Any]:
    return {
        "id": c.pk,
        "case_id": c.case_id,
        "name": c.display_name,
        "credit_type": c.credit_type,
        "status": c.status,
        "listed": c.listed,
        "created_at": c.created_at,
    }


def bounty_out(b: Bounty) -> dict[str, Any]:
    return {
        "id": b.pk,
        "case_id": b.case_id,
        "researcher": b.researcher.public_name,
        "amount": f"{b.amount:.2f}",
        "currency": b.currency,
        "status": b.status,
        "donate": b.donate,
        "charity": b.charity,
        "note": b.note,
        "created_at": b.created_at,
    }


@router.get("/cases/{case_id}/credits", response=list[CreditOut], summary="Credits on a case")
@token_scope(TokenScope.READ)
def case_credits(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    return [credit_out(c) for c in credits_for_case(actor=api_user(request), case_id=case_id)]


@router.post(
    "/cases/{case_id}/credits",
    response={201: CreditOut, 409: ConflictDetail},
    summary="Grant a credit (staff); 409 if the person holds it already",
)
@token_scope(TokenScope.TRIAGE)
def grant(request: HttpRequest, case_id: int, body: CreditIn) -> Status[dict[str, Any]]:
    credit = credit_grant(
        actor=api_user(request),
        case_id=case_id,
        credit_type=body.credit_type,
        username=body.user,
        name=body.name,
    )
    return Status(201, credit_out(credit))


@router.get("/me/credits", response=list[CreditOut], summary="My credits")
@token_scope(TokenScope.READ)
def my_credits(request: HttpRequest) -> list[dict[str, Any]]:
    return [credit_out(c) for c in credits_mine(actor=api_user(request))]


@router.post(
    "/credits/{credit_id}/respond", response=CreditOut, summary="Accept or decline my credit"
)
@token_scope(TokenScope.SUBMIT, TokenScope.READ)
def respond(request: HttpRequest, credit_id: int, body: RespondIn) -> dict[str, Any]:
    credit = credit_respond(
        actor=api_user(request), credit_id=credit_id, accept=body.accept, listed=body.listed
    )
    return credit_out(credit)


@router.get(
    "/programs/{slug}/hall-of-fame",
    response=list[HallOfFameOut],
    auth=None,
    summary="Public hall of fame of a program",
)
@token_scope(PUBLIC)
def program_hall_of_fame(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return [e.__dict__ for e in hall_of_fame(program=program_get(slug=slug))]


@router.get(
    "/cases/{case_id}/bounties",
    response=list[BountyOut],
    summary="Bounties of a case (the researcher's own; staff: all)",
)
@token_scope(TokenScope.READ)
def case_bounties(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    return [
        bounty_out(b) for b in bounties_visible_for_case(actor=api_user(request), case_id=case_id)
    ]


@router.post(
    "/cases/{case_id}/bounties", response={201: BountyOut}, summary="Award a bounty (staff)"
)
@token_scope(TokenScope.TRIAGE)
def award(request: HttpRequest, case_id: int, body: BountyIn) -> Status[dict[str, Any]]:
    bounty = bounty_award(
        actor=api_user(request),
        case_id=case_id,
        username=body.researcher,
        amount=body.amount,
        currency=body.currency,
        note=body.note,
    )
    return Status(201, bounty_out(bounty))


@router.get("/bounties/{bounty_id}", response=BountyOut, summary="One bounty")
@token_scope(TokenScope.READ)
def bounty_detail(request: HttpRequest, bounty_id: int) -> dict[str, Any]:
    return bounty_out(bounty_get_visible(actor=api_user(request), bounty_id=bounty_id))


@router.post("/bounties/{bounty_id}/status", response=BountyOut, summary="Move a bounty (staff)")
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def bounty_status(request: HttpRequest, bounty_id: int, body: BountyStatusIn) -> dict[str, Any]:
    return bounty_out(
        bounty_set_status(actor=api_user(request), bounty_id=bounty_id, status=body.status)
    )


@router.post(
    "/bounties/{bounty_id}/donation",
    response={200: BountyOut, 409: ConflictDetail},
    summary="Donate my bounty to a charity (the researcher)",
)
@token_scope(TokenScope.SUBMIT, TokenScope.READ)
def bounty_donation(request: HttpRequest, bounty_id: int, body: DonationIn) -> dict[str, Any]:
    return bounty_out(
        bounty_set_donation(
            actor=api_user(request), bounty_id=bounty_id, donate=body.donate, charity=body.charity
        )
    )
