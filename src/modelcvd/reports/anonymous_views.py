"""Anonymous intake and its follow-up page (reports.services.anonymous says how it works).

The follow-up page is reached only with the secret; any other string answers 404, like a
missing page. It shows that one report's status and its reporter channel, nothing else."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.lockout import client_ip
from modelcvd.accounts.selectors import follow_up_reporter
from modelcvd.cases.selectors import case_access, comments_visible
from modelcvd.core.errors import InvalidInput, RateLimited
from modelcvd.policy.selectors import program_list
from modelcvd.reports.models import Report
from modelcvd.reports.selectors import report_list_mine
from modelcvd.reports.services import follow_up_reply, report_submit_anonymous
from modelcvd.reports.views import report_form_round
from modelcvd.web.helpers import errors_text


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply", widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    # The secret is in the page (or its address): no copy in any cache, no referrer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "POST"])
def report_anonymous(request: HttpRequest, program: str) -> HttpResponse:
    found = program_list().filter(slug=program, accepts_reports=True, abstract_first=False).first()
    if found is None:
        raise Http404
    round_ = report_form_round(request, found)
    form = round_.form
    status = 200
    if round_.submitted:
        status = 422
        if form.is_valid() and form.document is not None:
            try:
                report, secret = report_submit_anonymous(
                    document=form.document, ip=client_ip(request), attachments=form.files_chosen
                )
            except RateLimited as exc:
                form.add_error(None, exc.message)
                status = 429
            except InvalidInput as exc:
                form.add_service_errors(exc)
            else:
                path = reverse("reports:follow_up", args=[secret])
                context = {"report": report, "link": request.build_absolute_uri(path), "path": path}
                return _no_store(render(request, "reports/anonymous_sent.html", context))
    return render(request, "reports/anonymous_new.html", round_.context(), status=status)


@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest, secret: str) -> HttpResponse:
    reporter = follow_up_reporter(secret)
    report: Report | None = report_list_mine(actor=reporter).first() if reporter else None
    if reporter is None or report is None:
        raise Http404
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                follow_up_reply(report=report, body=form.cleaned_data["body"])
            except InvalidInput as exc:
                form.add_error("body", errors_text(exc.errors))
            else:
                messages.success(request, "Your reply is with the coordinators.")
                return _no_store(redirect("reports:follow_up", secret=secret))
    access = case_access(actor=reporter, case=report.case)
    comments = comments_visible(case=report.case, actor=reporter, access=access).order_by(
        "created_at", "pk"
    )
    context = {"report": report, "comments": comments, "form": form}
    return _no_store(render(request, "reports/follow_up.html", context, status=status))
