"""The CSAF trusted provider's files under `/.well-known/csaf/` (advisories/csaf_provider.py
says what is in them). Public, read-only, GET and HEAD; each answer is a function of the
advisories' current revisions, so it is byte-stable between revisions."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from modelcvd.advisories import csaf_provider as provider
from modelcvd.core.errors import NotFound
from modelcvd.interop.advisory import TlpLabel
from modelcvd.interop.csaf_provider import feed_file_name
from modelcvd.web.errors import domain_errors_as_pages

JSON = "application/json"
# Per CSAF 2.0 section 7.1.18-20 and RFC 3156: text companions, the key as application/pgp-keys.
CONTENT_TYPES = {
    "sha256": "text/plain; charset=us-ascii",
    "sha512": "text/plain; charset=us-ascii",
    "asc": "application/pgp-signature",
}


def _answer(data: bytes, content_type: str) -> HttpResponse:
    return HttpResponse(data, content_type=content_type)


def _folder_view(
    build: Callable[[TlpLabel], bytes], content_type: str
) -> Callable[[HttpRequest, str], HttpResponse]:
    @require_safe
    @domain_errors_as_pages
    def view(request: HttpRequest, tlp: str) -> HttpResponse:
        return _answer(build(provider.tlp_for_folder(tlp)), content_type)

    return view


@require_safe
@domain_errors_as_pages
def provider_metadata(request: HttpRequest) -> HttpResponse:
    return _answer(provider.provider_metadata_bytes(), JSON)


@require_safe
@domain_errors_as_pages
def public_key(request: HttpRequest, fingerprint: str) -> HttpResponse:
    return _answer(provider.public_key_bytes(fingerprint), "application/pgp-keys")


@require_safe
@domain_errors_as_pages
def feed(request: HttpRequest, tlp: str, name: str) -> HttpResponse:
    label = provider.tlp_for_folder(tlp)
    if name != feed_file_name(label):
        raise NotFound()
    return _answer(provider.feed_bytes(label), JSON)


index = _folder_view(provider.index_bytes, "text/plain; charset=utf-8")
changes = _folder_view(provider.changes_bytes, "text/csv; charset=utf-8")


@require_safe
@domain_errors_as_pages
def document(request: HttpRequest, tlp: str, year: str, name: str) -> HttpResponse:
    return _answer(provider.provider_document(provider.tlp_for_folder(tlp), year, name).data, JSON)


@require_safe
@domain_errors_as_pages
def companion(request: HttpRequest, tlp: str, year: str, name: str, suffix: str) -> HttpResponse:
    data = provider.provider_companion(provider.tlp_for_folder(tlp), year, name, suffix)
    return _answer(data, CONTENT_TYPES[suffix])
