"""The second sign-in step: enrol a TOTP authenticator app, or enter its code.

Both pages are reached after the password (TwoFactorRequiredMiddleware sends staff here) and
return to `next` once the session is verified.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from modelcvd.accounts.forms import TotpCodeForm
from modelcvd.accounts.twofactor import (
    totp_check,
    totp_config_url,
    totp_device_confirm,
    totp_device_for,
    totp_new_key,
    totp_secret_text,
    totp_wait_seconds,
    two_factor_pending,
)
from modelcvd.web.helpers import request_user

# The secret being enrolled lives in the session until a code confirms it.
SETUP_KEY_SESSION = "modelcvd.totp_setup_key"
WRONG_CODE = "That code is not right. Enter the newest code your app shows."


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(route: str, next_url: str) -> str:
    return f"{reverse(route)}?{urlencode({'next': next_url})}"


def _verified(request: HttpRequest, device: TOTPDevice) -> None:
    # A new session id as the session gains the second factor, as Django does at sign-in.
    request.session.cycle_key()
    otp_login(request, device)


@login_required
@require_http_methods(["GET", "POST"])
def totp_verify(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if not two_factor_pending(request.user):
        return redirect(next_url)
    user = request_user(request)
    device = totp_device_for(user)
    if device is None:
        return redirect(_with_next("accounts:totp_setup", next_url))
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = totp_wait_seconds(device)
        if wait:
            form.add_error("code", f"Too many wrong codes: wait {wait} seconds and try again.")
        elif (verified := totp_check(user=user, token=form.cleaned_data["code"])) is not None:
            _verified(request, verified)
            return redirect(next_url)
        else:
            form.add_error("code", WRONG_CODE)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "accounts/totp_verify.html", {"form": form, "next": next_url}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    user = request_user(request)
    if user_has_device(user):
        # Enrolled already: replacing a device is an administrator's job, not this page's.
        if two_factor_pending(request.user):
            return redirect(_with_next("accounts:totp_verify", next_url))
        return redirect(next_url)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST":
        key = request.session.get(SETUP_KEY_SESSION)
        if not key:
            messages.error(request, "The setup had expired. Add this new key to your app.")
            return redirect(_with_next("accounts:totp_setup", next_url))
        if form.is_valid():
            device = totp_device_confirm(user=user, key=key, token=form.cleaned_data["code"])
            if device is not None:
                del request.session[SETUP_KEY_SESSION]
                _verified(request, device)
                messages.success(
                    request, "Two-factor sign-in is on: each sign-in will ask for a code."
                )
                return redirect(next_url)
            form.add_error("code", WRONG_CODE)
        status = 422
    else:
        # A fresh key on every visit: a secret shown earlier (perhaps to someone else holding
        # the password) can never be the one confirmed.
        key = totp_new_key()
        request.session[SETUP_KEY_SESSION] = key
        status = 200
    context = {
        "form": form,
        "next": next_url,
        "secret": totp_secret_text(key),
        "config_url": totp_config_url(user=user, key=key),
        "required": two_factor_pending(request.user),
    }
    return render(request, "accounts/totp_setup.html", context, status=status)
