"""The token page: a signed-in person makes API tokens, sees their own and revokes them.

A token's secret is shown once, in the answer to the form that made it, and never stored: the
page that shows it is not cached and the secret never goes into the session or a message.
Another person's token is "not found" (accounts/access.py), administrators' included.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.forms import TokenCreateForm
from modelcvd.accounts.selectors import token_get_for, tokens_of
from modelcvd.accounts.services import token_create, token_revoke
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import request_user


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def tokens(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = TokenCreateForm(request.POST or None)
    created = secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            created, secret = token_create(
                user=user,
                scopes=form.cleaned_data["scopes"],
                name=form.cleaned_data["name"],
                expires_in=timedelta(days=form.cleaned_data["days"]),
                actor=user,
            )
            form = TokenCreateForm()
            status = 201
        else:
            status = 422
    context = {
        "form": form,
        "created": created,
        "secret": secret,
        "tokens": [(t, t.state_at(timezone.now())) for t in tokens_of(actor=user)],
    }
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_http_methods(["POST"])
@domain_errors_as_pages
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request_user(request)
    token = token_get_for(actor=user, token_id=token_id, action="revoke")
    already = token.revoked_at is not None
    token_revoke(token=token, actor=user)
    if already:
        messages.info(request, f"Token {token.prefix}… was revoked already.")
    else:
        messages.success(request, f"Token {token.prefix}… is revoked: it no longer works.")
    return redirect("accounts:tokens")
