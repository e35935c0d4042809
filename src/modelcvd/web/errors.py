"""Domain errors as web answers, in one place.

Services raise `core.errors`; every view is wrapped in `domain_errors_as_pages`, so none maps
them itself. Missing and not-visible are always the same 404 (Django's page, no detail). What
else a service refuses depends on where the request came from:

- a form posted from a page (`back` given): the refusal, conflict or invalid input is told as a
  message on that page, and the browser is sent back to it (302);
- otherwise: an error page with the error's status: 403 (Forbidden), 409 (a conflict such as
  an illegal transition), 422 (invalid input), 400 (anything else).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar, overload

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from modelcvd.core.errors import DomainError, Forbidden, IllegalTransition, InvalidInput, NotFound
from modelcvd.web.helpers import errors_text

View = TypeVar("View", bound=Callable[..., HttpResponse])


def error_text(exc: DomainError) -> str:
    """What the person is told: each field's reason, or the error's message (with the states a
    refused transition could have gone to)."""
    if isinstance(exc, InvalidInput):
        return errors_text(exc.errors)
    if isinstance(exc, IllegalTransition):
        return f"{exc.message}; allowed: {', '.join(exc.allowed) or 'none'}"
    return exc.message


@overload
def domain_errors_as_pages(view: View) -> View: ...


@overload
def domain_errors_as_pages(
    view: None = None, *, back: str, back_kwargs: Sequence[str] = ()
) -> Callable[[View], View]: ...


def domain_errors_as_pages(
    view: View | None = None, *, back: str | None = None, back_kwargs: Sequence[str] = ()
) -> View | Callable[[View], View]:
    """Wrap a view so the domain errors it lets through become answers (module docstring).

    `back` is the URL name of the page a form was posted from, reversed with the view's
    keyword arguments named in `back_kwargs`.
    """

    def wrap(inner: View) -> View:
        @wraps(inner)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return inner(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except DomainError as exc:
                if back is not None:
                    messages.error(request, error_text(exc))
                    return redirect(back, **{name: kwargs[name] for name in back_kwargs})
                if isinstance(exc, Forbidden):
                    raise PermissionDenied(exc.message) from None
                context = {"message": error_text(exc), "status": exc.status}
                return render(request, "web/error.html", context, status=exc.status)

        return wrapped  # type: ignore[return-value]

    return wrap if view is None else wrap(view)
