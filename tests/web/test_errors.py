"""web.errors.domain_errors_as_pages: the one place a view's domain errors become answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory

from modelcvd.core.errors import (
    DomainError,
    FieldError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from modelcvd.web.errors import domain_errors_as_pages, error_text

ERRORS: list[DomainError] = [
    NotFound(),
    Forbidden("only the case's coordinators may do this"),
    IllegalTransition(current="received", target="closed", allowed=["acknowledged"]),
    InvalidInput([FieldError("reason", "required")]),
    DomainError("refused"),
]


def _request() -> HttpRequest:
    request = RequestFactory().post("/cases/7/score/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def _raising(exc: DomainError) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, case_id: int) -> HttpResponse:
        raise exc

    return view


def test_error_text_says_what_to_do() -> None:
    assert error_text(ERRORS[2]) == "cannot go from 'received' to 'closed'; allowed: acknowledged"
    assert error_text(ERRORS[3]) == "reason: required"
    assert error_text(ERRORS[4]) == "refused"


def test_without_back_errors_are_pages() -> None:
    with pytest.raises(Http404):
        domain_errors_as_pages(_raising(ERRORS[0]))(_request(), case_id=7)
    with pytest.raises(PermissionDenied):
        domain_errors_as_pages(_raising(ERRORS[1]))(_request(), case_id=7)
    for exc, status in ((ERRORS[2], 409), (ERRORS[3], 422), (ERRORS[4], 400)):
        response = domain_errors_as_pages(_raising(exc))(_request(), case_id=7)
        assert response.status_code == status
        assert error_text(exc).replace("'", "&#x27;") in response.content.decode()


def test_with_back_refusals_are_messages_on_the_page_and_missing_is_still_404() -> None:
    on_case_page = domain_errors_as_pages(back="cases:detail", back_kwargs=("case_id",))
    with pytest.raises(Http404):
        on_case_page(_raising(ERRORS[0]))(_request(), case_id=7)
    for exc in ERRORS[1:]:
        request = _request()
        response = on_case_page(_raising(exc))(request, case_id=7)
        assert (response.status_code, response["Location"]) == (302, "/cases/7/")
        assert [m.message for m in get_messages(request)] == [error_text(exc)]
