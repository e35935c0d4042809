"""Writes on credits and bounties. Each in one transaction with its audit event."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.cases.selectors import case_get_for
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import DomainError, FieldError, Forbidden, InvalidInput
from modelcvd.credits.iso4217 import CURRENCIES
from modelcvd.credits.models import NAMED_TYPES, Bounty, Credit, CreditType
from modelcvd.credits.selectors import bounty_get_visible, credit_get_own

MAX_AMOUNT = Decimal("9999999999.99")


class Conflict(DomainError):
    status = 409


def credit_grant(
    *,
    actor: User,
    case_id: int,
    credit_type: str,
    username: str | None = None,
    name: str = "",
) -> Credit:
    """Credit a person (pending until they answer) or, for tools and sponsors, a name
    (accepted at once: nobody to ask)."""
    case = case_get_for(
        actor=actor,
        case_id=case_id,
        action="coordinate",
        forbidden="only the program's staff grant credit",
    )
    try:
        kind = CreditType(credit_type)
    except ValueError:
        raise InvalidInput(
            [FieldError("credit_type", f"one of {[t.value for t in CreditType]}")]
        ) from None
    name = name.strip()
    user = None
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise InvalidInput([FieldError("user", "no active user with this username")])
        if name:
            raise InvalidInput([FieldError("name", "give a user or a name, not both")])
    elif not name:
        raise InvalidInput([FieldError("user", "give a user, or a name for a tool or sponsor")])
    elif kind not in NAMED_TYPES:
        raise InvalidInput(
            [FieldError("name", "only tools and sponsors are credited by name; people by user")]
        )
    if len(name) > 120:
        raise InvalidInput([FieldError("name", "at most 120 characters")])
    try:
        with transaction.atomic():
            credit = Credit.objects.create(
                case=case,
                user=user,
                name=name,
                credit_type=kind,
                status=Credit.Status.PENDING if user else Credit.Status.ACCEPTED,
                created_by=actor,
            )
            audit_record(
                actor=actor,
                action="credit.grant",
                obj=credit,
                data={"case": case.pk, "type": kind.value, "user": user.pk if user else None},
            )
    except IntegrityError:
        raise Conflict("this person already holds this credit on this case") from None
    return credit


def credit_respond(*, actor: User, credit_id: int, accept: bool, listed: bool = True) -> Credit:
    """The credited person accepts (listed or not) or declines. They may change their mind."""
    with transaction.atomic():
        credit = credit_get_own(actor=actor, credit_id=credit_id)
        credit.status = Credit.Status.ACCEPTED if accept else Credit.Status.DECLINED
        credit.listed = bool(listed) if accept else False
        credit.responded_at = timezone.now()
        credit.save(update_fields=["status", "listed", "responded_at"])
        audit_record(
            actor=actor,
            action="credit.respond",
            obj=credit,
            data={"status": credit.status, "listed": credit.listed},
        )
    return credit


def _amount(value: str | Decimal) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput([FieldError("amount", "not a decimal number")]) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidInput([FieldError("amount", f"greater than 0 and at most {MAX_AMOUNT}")])
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput([FieldError("amount", "at most two decimal places")])
    return amount


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise InvalidInput([FieldError("currency", "not an ISO 4217 currency code")])
    return code


def bounty_award(
    *,
    actor: User,
    case_id: int,
    username: str,
    amount: str | Decimal,
    currency: str,
    note: str = "",
) -> Bounty:
    case = case_get_for(
        actor=actor,
        case_id=case_id,
        action="coordinate",
        forbidden="only the program's staff award bounties",
    )
    researcher = User.objects.filter(username=username, is_active=True).first()
    if researcher is None:
        raise InvalidInput([FieldError("researcher", "no active user with this username")])
    value = _amount(amount)
    code = _currency(currency)
    if len(note) > 5000:
        raise InvalidInput([FieldError("note", "at most 5000 characters")])
    with transaction.atomic():
        bounty = Bounty.objects.create(
            case=case,
            researcher=researcher,
            amount=value,
            currency=code,
            note=note.strip(),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="bounty.award",
            obj=bounty,
            data={"case": case.pk, "amount": str(value), "currency": code},
        )
    return bounty


TRANSITIONS = {
    Bounty.Status.PROPOSED: {Bounty.Status.APPROVED, Bounty.Status.CANCELLED},
    Bounty.Status.APPROVED: {Bounty.Status.PAID, Bounty.Status.CANCELLED},
    Bounty.Status.PAID: set(),
    Bounty.Status.CANCELLED: set(),
}


def bounty_set_status(*, actor: User, bounty_id: int, status: str) -> Bounty:
    bounty = bounty_get_visible(actor=actor, bounty_id=bounty_id)
    case_get_for(
        actor=actor,
        case_id=bounty.case_id,
        action="coordinate",
        forbidden="only the program's staff change a bounty's status",
    )
    try:
        target = Bounty.Status(status)
    except ValueError:
        raise InvalidInput(
            [FieldError("status", f"one of {[s.value for s in Bounty.Status]}")]
        ) from None
    with transaction.atomic():
        bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
        if target not in TRANSITIONS[Bounty.Status(bounty.status)]:
            raise Conflict(f"a {bounty.status} bounty cannot become {target.value}")
        previous = bounty.status
        bounty.status = target
        bounty.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="bounty.status",
            obj=bounty,
            data={"from": previous, "to": target.value},
        )
    return bounty


def bounty_set_donation(*, actor: User, bounty_id: int, donate: bool, charity: str) -> Bounty:
    """The researcher gives their bounty to a charity (or takes that back) until it is paid."""
    bounty = bounty_get_visible(actor=actor, bounty_id=bounty_id)
    if bounty.researcher_id != actor.pk:
        raise Forbidden("only the researcher decides where their bounty goes")
    charity = charity.strip()
    if donate and not charity:
        raise InvalidInput([FieldError("charity", "name the charity")])
    if len(charity) > 200:
        raise InvalidInput([FieldError("charity", "at most 200 characters")])
    with transaction.atomic():
        bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
        if bounty.status in (Bounty.Status.PAID, Bounty.Status.CANCELLED):
            raise Conflict(f"the bounty is {bounty.status}")
        bounty.donate = donate
        bounty.charity = charity if donate else ""
        bounty.save(update_fields=["donate", "charity", "updated_at"])
        audit_record(
            actor=actor,
            action="bounty.donation",
            obj=bounty,
            data={"donate": donate},
        )
    return bounty
