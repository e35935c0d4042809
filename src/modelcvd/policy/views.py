"""Program pages: the list (the site's home page), one program's policy, and security.txt."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from modelcvd.policy.models import Program
from modelcvd.policy.selectors import program_get, program_list
from modelcvd.policy.services import program_security_txt, program_urls
from modelcvd.transparency.signing import published_keys
from modelcvd.web.caching import content_cached
from modelcvd.web.errors import domain_errors_as_pages


@content_cached
def programs(request: HttpRequest) -> HttpResponse:
    return render(request, "policy/programs.html", {"programs": program_list()})


@content_cached
@domain_errors_as_pages
def program_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return render(
        request,
        "policy/program.html",
        {
            "program": program_get(slug=slug),
            "log_keys": published_keys(),
            "log_server": settings.BASE_URL,
        },
    )


def _security_txt(program: Program, canonical: tuple[str, ...] = ()) -> HttpResponse:
    text = program_security_txt(program, now=timezone.now(), canonical=canonical)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@content_cached
def security_txt_default(request: HttpRequest) -> HttpResponse:
    """/.well-known/security.txt: the instance's default program (Program.is_default)."""
    program = program_list().filter(is_default=True).first()
    if program is None:
        raise Http404
    urls = program_urls(program)
    base = urls["policy"].split("/programs/")[0]
    return _security_txt(program, (f"{base}/.well-known/security.txt", urls["security_txt"]))


@content_cached
@domain_errors_as_pages
def security_txt_program(request: HttpRequest, slug: str) -> HttpResponse:
    return _security_txt(program_get(slug=slug))
