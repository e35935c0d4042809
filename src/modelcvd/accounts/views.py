"""The second sign-in step and the account's second-factor page.

Enter a code (from the authenticator app, or a recovery code), enrol an authenticator app
(QR code and typed secret; recovery codes shown once on success), and see or renew recovery
codes. The first two are reached after the password (SecondFactorMiddleware sends a session
that owes a code here) and return to `next` once the session is verified; they are the only
pages that see the password-checked user of such a session (`twofactor.session_user`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device

from modelcvd.accounts.forms import SecondFactorForm, TotpCodeForm
from modelcvd.accounts.models import User
from modelcvd.accounts.services import (
    recovery_code_use,
    recovery_codes_issue,
    totp_check,
    totp_device_confirm,
)
from modelcvd.accounts.twofactor import (
    recovery_codes_for,
    second_factor_owed,
    session_user,
    totp_config_url,
    totp_device_for,
    totp_enrolment_key,
    totp_enrolment_nonce,
    totp_qr_svg,
    totp_secret_text,
    wait_seconds,
)
from modelcvd.web.helpers import request_user

# While a secret is being enrolled the session holds a nonce it is derived from (never the
# secret itself: twofactor.totp_enrolment_key).
SETUP_NONCE_SESSION = "modelcvd.totp_setup_nonce"
WRONG_CODE = "That code is not right. Enter the newest code your app shows."
WRONG_RECOVERY_CODE = "That recovery code is not right, or was used already."


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(route: str, next_url: str) -> str:
    return f"{reverse(route)}?{urlencode({'next': next_url})}"


def _verified(request: HttpRequest, user: User, device: Device) -> None:
    # A new session id as the session gains the second factor, as Django does at sign-in.
    request.session.cycle_key()
    request.user = user  # django-otp binds the device to the request's user
    otp_login(request, device)


def _no_store(response: HttpResponse) -> HttpResponse:
    # Secrets and recovery codes on the page: no copy in any cache.
    response["Cache-Control"] = "no-store"
    return response


def _recovery_codes_page(
    request: HttpRequest, codes: list[str], *, next_url: str, first: bool
) -> HttpResponse:
    context = {"codes": codes, "next": next_url, "first": first}
    return _no_store(render(request, "accounts/recovery_codes.html", context))


def _password_checked(
    view: Callable[[HttpRequest, User], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """The view gets the user whose password this session checked, verified or not; without
    one, the sign-in page."""

    def wrapper(request: HttpRequest) -> HttpResponse:
        user = session_user(request)
        if user is None:
            return redirect_to_login(request.get_full_path())
        return view(request, user)

    return wrapper


@require_http_methods(["GET", "POST"])
@_password_checked
def totp_verify(request: HttpRequest, user: User) -> HttpResponse:
    next_url = _next_url(request)
    if not second_factor_owed(request):
        return redirect(next_url)
    if totp_device_for(user) is None:
        return redirect(_with_next("accounts:totp_setup", next_url))
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if form.is_recovery_code:
            code_set = recovery_codes_for(user)
            wait = wait_seconds(code_set) if code_set else 0
            if wait:
                form.add_error("code", f"Too many wrong codes: wait {wait} seconds and try again.")
            elif (used := recovery_code_use(user=user, code=code)) is not None:
                _verified(request, user, used)
                left = used.codes.count()
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Each works once: make "
                    "new ones on your two-factor page if you are running out.",
                )
                return redirect(next_url)
            else:
                form.add_error("code", WRONG_RECOVERY_CODE)
        else:
            device = totp_device_for(user)
            wait = wait_seconds(device) if device else 0
            if wait:
                form.add_error("code", f"Too many wrong codes: wait {wait} seconds and try again.")
            elif (verified := totp_check(user=user, token=code)) is not None:
                _verified(request, user, verified)
                return redirect(next_url)
            else:
                form.add_error("code", WRONG_CODE)
    status = 422 if request.method == "POST" else 200
    context = {"form": form, "next": next_url, "pending_user": user}
    return render(request, "accounts/totp_verify.html", context, status=status)


@require_http_methods(["GET", "POST"])
@_password_checked
def totp_setup(request: HttpRequest, user: User) -> HttpResponse:
    next_url = _next_url(request)
    owed = second_factor_owed(request)
    if totp_device_for(user) is not None:
        # Enrolled already: replacing a device is an administrator's job, not this page's.
        if owed:
            return redirect(_with_next("accounts:totp_verify", next_url))
        return redirect(next_url)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST":
        nonce = request.session.get(SETUP_NONCE_SESSION)
        if not nonce:
            messages.error(request, "The setup had expired. Add this new key to your app.")
            return redirect(_with_next("accounts:totp_setup", next_url))
        key = totp_enrolment_key(user=user, nonce=nonce)
        if form.is_valid():
            device = totp_device_confirm(user=user, key=key, token=form.cleaned_data["code"])
            if device is not None:
                del request.session[SETUP_NONCE_SESSION]
                _verified(request, user, device)
                codes = recovery_codes_issue(user=user)
                return _recovery_codes_page(request, codes, next_url=next_url, first=True)
            form.add_error("code", WRONG_CODE)
        status = 422
    else:
        # A fresh key on every visit: a secret shown earlier (perhaps to someone else holding
        # the password) can never be the one confirmed.
        nonce = totp_enrolment_nonce()
        request.session[SETUP_NONCE_SESSION] = nonce
        key = totp_enrolment_key(user=user, nonce=nonce)
        status = 200
    config_url = totp_config_url(user=user, key=key)
    context = {
        "form": form,
        "next": next_url,
        "secret": totp_secret_text(key),
        "config_url": config_url,
        # segno's SVG: built from the URI alone, no user-supplied markup.
        "qr_svg": mark_safe(totp_qr_svg(config_url)),  # noqa: S308
        "required": owed,
        "pending_user": user,
    }
    return _no_store(render(request, "accounts/totp_setup.html", context, status=status))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """The account's second factor: whether an app is set up, recovery codes left, new ones.

    Reached only by a verified session once an app is enrolled (SecondFactorMiddleware)."""
    user = request_user(request)
    device = totp_device_for(user)
    if request.method == "POST":
        if device is None:
            return redirect(_with_next("accounts:totp_setup", reverse("accounts:two_factor")))
        codes = recovery_codes_issue(user=user)
        return _recovery_codes_page(
            request, codes, next_url=reverse("accounts:two_factor"), first=False
        )
    code_set = recovery_codes_for(user)
    context = {
        "device": device,
        "remaining": code_set.codes.count() if code_set else 0,
    }
    return render(request, "accounts/two_factor.html", context)
