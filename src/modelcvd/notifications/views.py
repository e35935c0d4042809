"""The notification settings page: which topics a person is e-mailed about."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.notifications.selectors import mail_muted
from modelcvd.notifications.services import mail_preferences_set
from modelcvd.vocabulary import MailTopic
from modelcvd.web.helpers import request_user


class MailPreferenceForm(forms.Form):
    wanted = forms.MultipleChoiceField(
        label="E-mail me when",
        required=False,
        choices=[(t.value, t.label) for t in MailTopic],
        widget=forms.CheckboxSelectMultiple,
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if request.method == "POST":
        form = MailPreferenceForm(request.POST)
        if form.is_valid():
            wanted = set(form.cleaned_data["wanted"])
            mail_preferences_set(
                actor=user, muted=[t.value for t in MailTopic if t.value not in wanted]
            )
            messages.success(request, "Notification settings saved.")
            return redirect("notifications:settings")
    else:
        muted = set(mail_muted(user=user))
        form = MailPreferenceForm(
            initial={"wanted": [t.value for t in MailTopic if t.value not in muted]}
        )
    return render(request, "notifications/settings.html", {"form": form, "email": user.email})
