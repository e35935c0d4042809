"""Pages for programs' security.txt, case scoring, deadlines, extensions, embargo and
abstract-first intake. Each view parses a form, calls the service, and redirects; invalid input
re-renders the page with 422 and each field's reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from modelcvd.cases.services import (
    case_score,
    case_waiting_set,
    deadlines_out,
    embargo_apply,
    embargo_out,
    extension_decide,
    extension_request,
    severity_out,
)
from modelcvd.core.errors import DomainError, InvalidInput, NotFound
from modelcvd.core.validation import parse_model
from modelcvd.policy.holdout import benchmark_aggregate
from modelcvd.policy.models import Program
from modelcvd.policy.selectors import program_get, program_list
from modelcvd.policy.services import program_security_txt, program_urls
from modelcvd.reports.schemas import AbstractDocument
from modelcvd.reports.selectors import report_get_visible
from modelcvd.reports.services import (
    report_payload_add,
    report_scope_decide,
    report_submit_abstract,
)
from modelcvd.web import policy_forms as f


def _security_txt(program: Program, canonical: tuple[str, ...] = ()) -> HttpResponse:
    text = program_security_txt(program, now=timezone.now(), canonical=canonical)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


def security_txt_default(request: HttpRequest) -> HttpResponse:
    """/.well-known/security.txt: the instance's default program (Program.is_default)."""
    program = program_list().filter(is_default=True).first()
    if program is None:
        raise Http404
    urls = program_urls(program)
    base = urls["policy"].split("/programs/")[0]
    return _security_txt(program, (f"{base}/.well-known/security.txt", urls["security_txt"]))


def security_txt_program(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        program = program_get(slug=slug)
    except NotFound:
        raise Http404 from None
    return _security_txt(program)


def case_policy_context(request: HttpRequest, case: Any, access: Any) -> dict[str, Any]:
    """What the case page shows of severity, deadlines, extensions, embargo and aggregates."""
    return {
        "severity": severity_out(case),
        "deadlines": deadlines_out(case),
        "extensions": case.extensions.select_related("requested_by"),
        "embargo": embargo_out(case),
        "benchmark": benchmark_aggregate(case=case),
        "score_form": f.ScoreForm(
            initial={"cvss_vector": case.cvss_vector, **(case.rubric or {}).get("inputs", {})}
        )
        if access.staff
        else None,
        "waiting_form": f.WaitingForm() if access.staff else None,
        "extension_form": f.ExtensionForm() if access.any else None,
        "decision_form": f.ExtensionDecisionForm() if access.staff else None,
        "embargo_form": f.EmbargoForm() if (access.staff or access.vendor) else None,
    }


def _case_action(
    request: HttpRequest,
    case_id: int,
    form_class: type[forms.Form],
    act: Callable[[forms.Form], str],
) -> HttpResponse:
    from modelcvd.web.views import _case_context

    try:
        form = form_class(request.POST)
        if form.is_valid():
            done = act(form)
            messages.success(request, done)
            return redirect("web:case", case_id=case_id)
        errors = [f"{name}: {'; '.join(str(x) for x in e)}" for name, e in form.errors.items()]
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        errors = [f"{e.field}: {e.reason}" for e in exc.errors]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:case", case_id=case_id)
    try:
        context = _case_context(request, case_id)
    except NotFound:
        raise Http404 from None
    return render(request, "web/case.html", {**context, "action_errors": errors}, status=422)


def _user(request: HttpRequest) -> Any:
    return request.user


@login_required
@require_http_methods(["POST"])
def case_score_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        assert isinstance(form, f.ScoreForm)
        case = case_score(
            case_id=case_id,
            actor=_user(request),
            cvss_vector=form.cleaned_data["cvss_vector"],
            rubric=form.rubric(),
            ssvc_triage=form.ssvc("triage"),
            ssvc_publish=form.ssvc("publish"),
        )
        return f"Scored: tier {case.tier}."

    return _case_action(request, case_id, f.ScoreForm, act)


@login_required
@require_http_methods(["POST"])
def case_waiting_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        case_waiting_set(
            case_id=case_id, actor=_user(request), waiting=d["waiting"], reason=d["reason"]
        )
        return "Waiting on the reporter." if d["waiting"] else "Deadline clocks running again."

    return _case_action(request, case_id, f.WaitingForm, act)


@login_required
@require_http_methods(["POST"])
def case_extension_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        extension_request(
            case_id=case_id,
            actor=_user(request),
            deadline=d["deadline"],
            days=d["days"],
            reason=d["reason"],
        )
        return "Extension requested."

    return _case_action(request, case_id, f.ExtensionForm, act)


@login_required
@require_http_methods(["POST"])
def case_extension_decision_view(
    request: HttpRequest, case_id: int, extension_id: int
) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        ext = extension_decide(
            case_id=case_id,
            extension_id=extension_id,
            actor=_user(request),
            approve=d["approve"],
            reason=d["reason"],
        )
        return f"Extension {ext.state}."

    return _case_action(request, case_id, f.ExtensionDecisionForm, act)


@login_required
@require_http_methods(["POST"])
def case_embargo_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        date = d.get("public_date")
        if date is not None and timezone.is_naive(date):
            date = timezone.make_aware(date, UTC)
        embargo_apply(
            case_id=case_id,
            actor=_user(request),
            action=d["action"],
            public_date=date,
            reason=d.get("reason") or "",
        )
        return f"Embargo: {d['action']} done."

    return _case_action(request, case_id, f.EmbargoForm, act)


@login_required
@require_http_methods(["GET", "POST"])
def report_abstract_new(request: HttpRequest) -> HttpResponse:
    choices = [
        (p.slug, p.name) for p in program_list().filter(accepts_reports=True, abstract_first=True)
    ]
    form = f.AbstractForm(
        request.POST or None,
        programs=choices,
        initial={"program": request.GET.get("program", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = parse_model(AbstractDocument, form.document())
            report = report_submit_abstract(actor=_user(request), document=document)
        except InvalidInput as exc:
            for error in exc.errors:
                name = error.field.split(".")[0]
                form.add_error(
                    name if name in form.fields else None, f"{error.field}: {error.reason}"
                )
        else:
            messages.success(
                request,
                f"Abstract received as report #{report.pk}. Send the payload once a triager "
                "confirms scope.",
            )
            return redirect("web:report", report_id=report.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/report_abstract.html", {"form": form}, status=status)


def _report_action(
    request: HttpRequest, report_id: int, form_class: type[forms.Form], act: Callable[..., str]
) -> HttpResponse:
    try:
        report = report_get_visible(actor=_user(request), report_id=report_id)
        form = form_class(request.POST)
        if form.is_valid():
            messages.success(request, act(form))
        else:
            messages.error(
                request,
                "; ".join(f"{n}: {'; '.join(str(x) for x in e)}" for n, e in form.errors.items()),
            )
            return redirect("web:report", report_id=report.pk)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        text = (
            "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
            if isinstance(exc, InvalidInput)
            else exc.message
        )
        messages.error(request, text)
    return redirect("web:report", report_id=report_id)


@login_required
@require_http_methods(["POST"])
def report_scope_view(request: HttpRequest, report_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        report_scope_decide(
            report_id=report_id, actor=_user(request), in_scope=d["in_scope"], reason=d["reason"]
        )
        return "Scope decision recorded."

    return _report_action(request, report_id, f.ScopeForm, act)


@login_required
@require_http_methods(["POST"])
def report_payload_view(request: HttpRequest, report_id: int) -> HttpResponse:
    from modelcvd.reports.document import Reproduction

    def act(form: forms.Form) -> str:
        assert isinstance(form, f.PayloadForm)
        reproduction = parse_model(Reproduction, form.reproduction())
        report_payload_add(report_id=report_id, actor=_user(request), reproduction=reproduction)
        return "Payload received and sealed."

    return _report_action(request, report_id, f.PayloadForm, act)
