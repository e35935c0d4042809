"""Credit pages: a program's public hall of fame, and a person's own credits and bounties."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.credits.forms import DonationForm, RespondForm
from modelcvd.credits.selectors import bounties_mine, credits_mine, hall_of_fame
from modelcvd.credits.services import bounty_set_donation, credit_respond
from modelcvd.policy.selectors import program_get
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import errors_text, form_errors, request_user

# Both forms live on the person's credits page: refusals are told there.
on_credits_page = domain_errors_as_pages(back="credits:mine")


@domain_errors_as_pages
def program_hall_of_fame(request: HttpRequest, slug: str) -> HttpResponse:
    program = program_get(slug=slug)
    return render(
        request,
        "credits/hall_of_fame.html",
        {"program": program, "entries": hall_of_fame(program=program)},
    )


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
@on_credits_page
def credit_respond_view(request: HttpRequest, credit_id: int) -> HttpResponse:
    form = RespondForm(request.POST)
    if form.is_valid():
        answer = form.cleaned_data["answer"]
        credit_respond(
            actor=request_user(request),
            credit_id=credit_id,
            accept=answer != "decline",
            listed=answer == "listed",
        )
        messages.success(request, "Your answer is recorded.")
    else:
        messages.error(request, "answer: choose accept (listed or not) or decline")
    return redirect("credits:mine")


@login_required
@require_http_methods(["POST"])
@on_credits_page
def bounty_donation_view(request: HttpRequest, bounty_id: int) -> HttpResponse:
    form = DonationForm(request.POST)
    if form.is_valid():
        bounty_set_donation(
            actor=request_user(request),
            bounty_id=bounty_id,
            donate=form.cleaned_data["donate"],
            charity=form.cleaned_data["charity"],
        )
        messages.success(request, "Saved.")
    else:
        messages.error(request, errors_text(form_errors(form)))
    return redirect("credits:mine")
