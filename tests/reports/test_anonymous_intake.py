"""Anonymous intake with a one-time follow-up link, and each program's "Report" link opening
that program's own form. Through the full middleware stack with CSRF checks on."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from modelcvd.accounts.models import FollowUpLink, User
from modelcvd.cases.models import Comment
from modelcvd.cases.services import comment_add
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report
from tests.factories import World, sign_in
from tests.web.test_pages import _form_data

ANON = "/reports/anonymous/open-models/"


def _send(client: Client | None = None, **overrides: Any) -> tuple[Client, Any]:
    client = client or Client(enforce_csrf_checks=True)
    client.get(ANON)
    token = client.cookies["csrftoken"].value
    data = _form_data(title="Anonymous finding", **overrides)
    return client, client.post(ANON, {**data, "csrfmiddlewaretoken": token})


def _follow_up_path(html: str) -> str:
    match = re.search(r'id="follow-up-link">https?://[^/<]+(/follow-up/[^<]+/)<', html)
    assert match, html
    return match.group(1)


def test_anonymous_report_and_its_follow_up_page(world: World) -> None:
    page = Client().get("/programs/open-models/").content.decode()
    assert f'href="{ANON}"' in page
    client, response = _send()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    path = _follow_up_path(response.content.decode())
    report = Report.objects.get(title="Anonymous finding")
    reporter = report.reporter
    assert not reporter.is_active and not reporter.has_usable_password()
    link = FollowUpLink.objects.get(user=reporter)
    assert link.secret_hash not in path and path.split("/")[2] not in link.secret_hash
    # Staff see it marked anonymous.
    staff = sign_in(Client(), world.users["triager"])
    detail = staff.get(f"/reports/{report.pk}/").content.decode()
    assert 'id="anonymous-report"' in detail
    comment_add(
        case_id=report.case_id,
        actor=world.users["triager"],
        body="Which temperature did you use?",
        visibility="reporter",
        report_id=report.pk,
    )
    comment_add(
        case_id=report.case_id,
        actor=world.users["triager"],
        body="internal note",
        visibility="internal",
    )
    # The follow-up page: this report's state and reporter-channel comments, nothing else.
    follow = client.get(path)
    html = follow.content.decode()
    assert follow.status_code == 200 and follow["Referrer-Policy"] == "no-referrer"
    assert "Which temperature" in html and "internal note" not in html
    for other in world.reports.values():
        assert other.title not in html
    token = client.cookies["csrftoken"].value
    reply = client.post(path, {"body": "0.7, seed 3", "csrfmiddlewaretoken": token})
    assert reply.status_code == 302
    mine = Comment.objects.get(body="0.7, seed 3")
    assert mine.author_id == reporter.pk and mine.visibility == "reporter"
    assert mine.channel_reporter_id == reporter.pk
    # The anonymous reporter cannot sign in, and the follow-up path opens nothing else.
    assert client.get("/reports/").status_code == 302


def test_wrong_follow_up_token_is_404(world: World) -> None:
    _send()
    for secret in ("mcvf_" + "A" * 43, "nonsense", "mcvf_"):
        assert Client().get(f"/follow-up/{secret}/").status_code == 404
    # A user's API token is no follow-up secret either.
    assert Client().get(f"/follow-up/{FollowUpLink.objects.get().secret_hash}/").status_code == 404


def test_anonymous_submissions_are_capped(world: World, settings: Any) -> None:
    settings.ANONYMOUS_REPORTS_PER_IP_HOUR = 1
    assert _send()[1].status_code == 200
    _, refused = _send()
    assert refused.status_code == 429 and b"too many anonymous reports" in refused.content
    assert User.objects.filter(username__startswith="anonymous-").count() == 1


def test_bad_input_names_the_field(world: World) -> None:
    _, response = _send(trials="0", successes="3")
    assert response.status_code == 422
    assert not User.objects.filter(username__startswith="anonymous-").exists()


def test_each_programs_report_link_opens_its_own_form(world: World) -> None:
    assert world.program is not None
    Program.objects.create(
        organisation=world.program.organisation,
        name="Held-out benchmark",
        slug="held-out",
        policy_text="Benchmark items.",
        abstract_first=True,
        benchmark_holdout=True,
    )
    client = sign_in(Client(), world.users["researcher_a"])
    listing = client.get("/").content.decode()
    links = dict(
        (slug, href)
        for href, slug in re.findall(r'href="([^"]+\?program=([a-z-]+))">Report<', listing)
    )
    assert set(links) == {"open-models", "held-out"}
    for slug, href in links.items():
        page = client.get(href.replace("&amp;", "&"), follow=True)
        # The full form is for one program (a hidden input); the abstract form selects it.
        selected = re.search(
            r'<option value="([^"]+)" selected>|type="hidden" name="program" value="([^"]+)"',
            page.content.decode(),
        )
        assert selected and slug in selected.groups(), (slug, href)
    # A link typed for the wrong form lands on the right one.
    moved = client.get("/reports/new/?program=held-out")
    assert moved.status_code == 302 and moved["Location"] == "/reports/abstract/?program=held-out"
