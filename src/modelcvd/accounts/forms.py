"""Sign-in forms (the password form with its lockout, the one-time codes) and the API token form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm, UserCreationForm
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from modelcvd.accounts.lockout import (
    client_ip,
    signin_failure_record,
    signin_failures_clear,
    signin_refused,
)
from modelcvd.accounts.models import TokenScope, User
from modelcvd.accounts.services import password_reset_complete, sign_in_refused_audit
from modelcvd.accounts.twofactor import recovery_code_normalise


class SignInForm(AuthenticationForm):
    """Django's sign-in form behind the lockout of `accounts.lockout`.

    A refused attempt looks like a wrong password in every way a caller can observe: same
    message, same status, and the password is still hashed once (as Django's ModelBackend does
    for an unknown username), so neither the lockout nor the account's existence shows.
    """

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        ip = client_ip(self.request)
        now = timezone.now()
        if signin_refused(username=username, ip=ip, now=now):
            make_password(password)
            sign_in_refused_audit(username=username, ip=ip)
            raise self.get_invalid_login_error()
        try:
            cleaned = super().clean()
        except ValidationError:
            signin_failure_record(username=username, ip=ip, now=now)
            raise
        signin_failures_clear(username=username)
        return cleaned


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        min_length=6,
        max_length=6,
        validators=[RegexValidator(r"^[0-9]{6}$", "Enter the 6 digits your app shows.")],
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )


# How long a token made on the token page lives; one without expiry is an operator's decision
# (`modelcvd token create --days 0`).
TOKEN_DAYS = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="A label to recognise the token by, e.g. the script that uses it.",
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the token may do, within what your account may do: read (see what "
        "you may see), submit (your reports, comments and assessments), triage (work a case: "
        "transitions, embargo, internal and vendor comments), admin (programs, webhooks).",
    )
    days = forms.TypedChoiceField(label="Expires after", choices=TOKEN_DAYS, coerce=int, initial=90)


class SecondFactorForm(forms.Form):
    """The code prompt at sign-in: the authenticator's 6 digits, or one recovery code."""

    code = forms.CharField(
        label="Authentication code",
        max_length=20,
        help_text="The 6 digits your app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if len(code) == 6 and code.isdigit():
            return code
        if recovery_code_normalise(code) is None:
            raise ValidationError(
                "Enter the 6 digits your app shows, or a recovery code (xxxx-xxxx-xxxx)."
            )
        return code

    @property
    def is_recovery_code(self) -> bool:
        code = str(self.cleaned_data["code"])
        return not (len(code) == 6 and code.isdigit())


class SignUpForm(UserCreationForm):
    """A researcher's sign-up: Django's user-creation checks (username free, password through
    the validators, typed twice) plus an e-mail address to verify and an optional pseudonym."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "pseudonym")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields[
            "email"
        ].help_text = "We send a link here; the account works once you follow it."
        self.fields[
            "pseudonym"
        ].help_text = "Optional: the only name vendors and the public see (credits, advisories)."


class PasswordSetForm(SetPasswordForm):
    """The new password of a reset link, saved by the audited service."""

    def save(self, commit: bool = True) -> Any:
        return password_reset_complete(user=self.user, password=self.cleaned_data["new_password1"])


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(
        choices=[("researcher", "Researcher"), ("defender", "Defender")], initial="researcher"
    )
