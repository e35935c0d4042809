"""The target registry page (organisation settings): members register their organisation's
verification targets, offer them to programs or withdraw the offer, and retire them. A
credential is typed once and sealed; the page says only whether one is set."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from modelcvd.core.errors import InvalidInput
from modelcvd.verification.forms import OfferForm, TargetForm
from modelcvd.verification.selectors import (
    target_ids_managed,
    target_registration_organisations,
    targets_visible,
)
from modelcvd.verification.services import target_offer, target_register, target_retire
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import errors_text, form_errors, request_user


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def targets_page(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    organisations = [(o.slug, o.name) for o in target_registration_organisations(actor=user)]
    form = TargetForm(request.POST or None, organisations=organisations)
    status = 200
    if request.method == "POST":
        try:
            if not form.is_valid():
                raise InvalidInput(form_errors(form))
            d = form.cleaned_data
            target = target_register(
                actor=user,
                organisation=d["organisation"],
                name=d["name"],
                kind=d["kind"],
                artifact_id=d["artifact_id"],
                url=d["url"],
                model_name=d["model_name"],
                api_key=d["api_key"],
                local_dir=d["local_dir"],
                requests_per_minute=d["requests_per_minute"],
                max_concurrency=d["max_concurrency"],
            )
            messages.success(request, f"Target {target.name} registered.")
            return redirect("verification:targets")
        except InvalidInput as exc:
            messages.error(request, errors_text(exc.errors))
            status = 422
    managed = target_ids_managed(actor=user)
    context = {
        "form": form if organisations else None,
        "targets": [(t, t.pk in managed) for t in targets_visible(actor=user)],
        "offer_form": OfferForm(),
    }
    return render(request, "verification/targets.html", context, status=status)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def target_offer_view(request: HttpRequest, target_id: int) -> HttpResponse:
    form = OfferForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(form_errors(form))
    target = target_offer(
        actor=request_user(request),
        target_id=target_id,
        program=form.cleaned_data["program"],
        offered=form.cleaned_data["offered"],
    )
    messages.success(request, f"Offers of {target.name} updated.")
    return redirect("verification:targets")


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def target_retire_view(request: HttpRequest, target_id: int) -> HttpResponse:
    target = target_retire(actor=request_user(request), target_id=target_id)
    messages.success(request, f"Target {target.name} takes no new runs.")
    return redirect("verification:targets")
