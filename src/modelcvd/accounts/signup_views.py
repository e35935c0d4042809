"""Ways in: researcher sign-up (open, by invitation, or closed: settings.SIGNUP) with e-mail
verification, and password reset through Django's views with our templates and audited
service. None of these pages tells whether an address has an account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.access import is_administrator
from modelcvd.accounts.forms import InvitationForm, PasswordSetForm, SignUpForm
from modelcvd.accounts.links import email_verification_tokens, invitation_read
from modelcvd.accounts.models import User
from modelcvd.accounts.selectors import user_with_email
from modelcvd.accounts.services import email_verify, invitation_create, signup_register
from modelcvd.core.errors import InvalidInput
from modelcvd.web.helpers import errors_text, request_user

INVITATION_NEEDED = (
    "Sign-up on this instance is by invitation: ask the administrators for an invitation link."
)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    mode = settings.SIGNUP
    if mode == "closed":
        return render(request, "accounts/signup.html", {"mode": mode}, status=200)
    code = request.POST.get("invitation") or request.GET.get("invitation") or ""
    invitation = invitation_read(code) if code else None
    if mode == "invite" and invitation is None:
        message = "That invitation link is not valid or has expired." if code else ""
        refusal = {"mode": mode, "message": message or INVITATION_NEEDED}
        return render(request, "accounts/signup.html", refusal, status=403 if code else 200)
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and invitation is not None:
        data["email"] = invitation.email  # the invited address, whatever was typed
    form = SignUpForm(data, initial={"email": invitation.email} if invitation else None)
    if invitation is not None:
        form.fields["email"].disabled = True
        form.fields["email"].initial = invitation.email
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if invitation is not None and user_with_email(email) is not None:
            form.add_error(
                None, "This invitation was used already: sign in, or reset your password."
            )
        else:
            try:
                signup_register(
                    username=form.cleaned_data["username"],
                    email=email,
                    password=form.cleaned_data["password1"],
                    pseudonym=form.cleaned_data.get("pseudonym", ""),
                    role=invitation.role if invitation else "researcher",
                )
            except InvalidInput as exc:
                form.add_error(None, errors_text(exc.errors))
            else:
                return redirect("accounts:signup_sent")
    context: dict[str, Any] = {"mode": mode, "form": form, "invitation": code if invitation else ""}
    status = 422 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", context, status=status)


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


@require_http_methods(["GET", "POST"])
def signup_verify(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET shows a button; POST activates (mail scanners that fetch links activate nothing)."""
    try:
        user: User | None = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    valid = (
        user is not None
        and not user.is_active
        and email_verification_tokens.check_token(user, token)
    )
    if not valid:
        return render(request, "accounts/signup_verify.html", {"valid": False}, status=404)
    assert user is not None
    if request.method == "POST":
        email_verify(user=user)
        messages.success(request, "Your address is confirmed and your account active: sign in.")
        return redirect("accounts:signin")
    return render(request, "accounts/signup_verify.html", {"valid": True, "account": user})


password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset.html",
    email_template_name="accounts/password_reset_email.txt",
    subject_template_name="accounts/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    form_class=PasswordSetForm,
    success_url=reverse_lazy("accounts:password_reset_complete"),
    # Never signs in: the next sign-in asks for the password and, for staff, the code.
    post_reset_login=False,
)
password_reset_complete_view = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)


@login_required
@require_http_methods(["GET", "POST"])
def invitations(request: HttpRequest) -> HttpResponse:
    """Administrators make invitation links here (as `modelcvd invite create` does)."""
    user = request_user(request)
    if not is_administrator(user):
        raise Http404
    form = InvitationForm(request.POST or None)
    link = ""
    if request.method == "POST" and form.is_valid():
        try:
            link = invitation_create(
                actor=user, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except InvalidInput as exc:
            form.add_error(None, errors_text(exc.errors))
    status = 422 if request.method == "POST" and not link else 200
    context = {"form": form, "link": link, "mode": settings.SIGNUP}
    response = render(request, "accounts/invitations.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
