"""Small pieces every app's views share: the signed-in user, form errors in the domain's shape,
and a choice field to fill at run time. No domain app is imported here: apps import `web`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import forms
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from modelcvd.core.errors import FieldError

if TYPE_CHECKING:
    from modelcvd.accounts.models import User


def request_user(request: HttpRequest) -> User:
    """The signed-in user of a @login_required view."""
    user = request.user
    assert isinstance(user, get_user_model())
    return user


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """The form's choice field `name`, for views that set its choices per request."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def form_errors(form: forms.Form) -> list[FieldError]:
    """A bound form's errors as the services report theirs: one per field."""
    return [FieldError(name, "; ".join(str(x) for x in e)) for name, e in form.errors.items()]


def errors_text(errors: Iterable[FieldError]) -> str:
    """Field errors as one line for a message: `field: reason; field: reason`."""
    return "; ".join(f"{e.field}: {e.reason}" for e in errors)
