"""Credit pages: a program's public hall of fame, and a person's own credits and bounties."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.core.errors import DomainError, InvalidInput, NotFound
from modelcvd.credits.selectors import bounties_mine, credits_mine, hall_of_fame
from modelcvd.credits.services import bounty_set_donation, credit_respond
from modelcvd.policy.selectors import program_get


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def program_hall_of_fame(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        program = program_get(slug=slug)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "credits/hall_of_fame.html",
        {"program": program, "entries": hall_of_fame(program=program)},
    )


class RespondForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[
            ("listed", "Accept, list me"),
            ("unlisted", "Accept, do not list me"),
            ("decline", "Decline"),
        ]
    )


class DonationForm(forms.Form):
    donate = forms.BooleanField(required=False, label="Donate to charity")
    charity = forms.CharField(required=False, max_length=200)


@login_required
def my_credits(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "credits/mine.html",
        {
            "credits": credits_mine(actor=request.user),
            "bounties": bounties_mine(actor=request.user),
            "respond_form": RespondForm(),
            "donation_form": DonationForm(),
        },
    )


@login_required
@require_http_methods(["POST"])
def credit_respond_view(request: HttpRequest, credit_id: int) -> HttpResponse:
    form = RespondForm(request.POST)
    try:
        if form.is_valid():
            answer = form.cleaned_data["answer"]
            credit_respond(
                actor=_user(request),
                credit_id=credit_id,
                accept=answer != "decline",
                listed=answer == "listed",
            )
            messages.success(request, "Your answer is recorded.")
        else:
            messages.error(request, "answer: choose accept (listed or not) or decline")
    except NotFound:
        raise Http404 from None
    return redirect("web:credits_mine")


@login_required
@require_http_methods(["POST"])
def bounty_donation_view(request: HttpRequest, bounty_id: int) -> HttpResponse:
    form = DonationForm(request.POST)
    try:
        if form.is_valid():
            bounty_set_donation(
                actor=_user(request),
                bounty_id=bounty_id,
                donate=form.cleaned_data["donate"],
                charity=form.cleaned_data["charity"],
            )
            messages.success(request, "Saved.")
        else:
            messages.error(
                request,
                "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()),
            )
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:credits_mine")
