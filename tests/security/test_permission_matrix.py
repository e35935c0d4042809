"""The permission matrix: every web route (from the URL resolver) and every API operation
(from the OpenAPI schema), requested by every role on a fixed dataset, through the full
middleware stack with CSRF enforced. A route or operation without an entry here fails the
suite, so nothing is added without deciding who may use it.

Dataset (tests/factories.World): case A is researcher_a's report on vendor A's model, vendor A
notified; case B is researcher_b's report on vendor B's model, still in triage. Every
{id} below refers to case A, its report, or vendor A's artifact.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from modelcvd.accounts.services import token_create
from tests.factories import ROLES as FACTORY_ROLES
from tests.factories import World, report_data, sign_in, token_for
from tests.transparency import transparency_of

ROLES = ["anonymous", *FACTORY_ROLES]


def row(
    anonymous: int,
    researcher_a: int,
    researcher_b: int,
    vendor_a: int,
    vendor_b: int,
    triager: int,
    defender: int,
    assessor: int,
    admin: int,
) -> dict[str, int]:
    return dict(
        zip(
            ROLES,
            (
                anonymous,
                researcher_a,
                researcher_b,
                vendor_a,
                vendor_b,
                triager,
                defender,
                assessor,
                admin,
            ),
            strict=True,
        )
    )


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, anonymous: int) -> dict[str, int]:
    return {**everyone(status), "anonymous": anonymous}


# Parties to case A: its reporter, the notified vendor, the coordinators and the admin.
CASE_A_READ_API = row(401, 200, 404, 200, 404, 200, 404, 404, 200)
CASE_A_READ_WEB = row(302, 200, 404, 200, 404, 200, 404, 404, 200)

API: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/v1/reports"): signed_in(201, anonymous=401),
    ("GET", "/api/v1/reports"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/reports/{report_id}"): CASE_A_READ_API,
    ("POST", "/api/v1/reports/{report_id}/unseal"): CASE_A_READ_API,
    ("GET", "/api/v1/cases"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/triage/queue"): signed_in(200, anonymous=401),
    ("GET", "/api/v1/cases/{case_id}"): CASE_A_READ_API,
    # The vendor states its own progress (vendor_notified -> remediating); the reporter sees
    # the case but may not move it.
    ("POST", "/api/v1/cases/{case_id}/transition"): row(
        401, 403, 404, 200, 404, 200, 404, 404, 200
    ),
    ("GET", "/api/v1/cases/{case_id}/comments"): CASE_A_READ_API,
    ("POST", "/api/v1/cases/{case_id}/comments"): row(401, 201, 404, 201, 404, 201, 404, 404, 201),
    ("GET", "/api/v1/programs"): everyone(200),
    ("GET", "/api/v1/programs/{slug}"): everyone(200),
    ("GET", "/api/v1/artifacts"): everyone(200),
    ("GET", "/api/v1/artifacts/{artifact_id}"): everyone(200),
    ("POST", "/api/v1/artifacts"): row(401, 403, 403, 403, 403, 201, 403, 403, 201),
    ("GET", "/api/v1/artifacts/{artifact_id}/lineage"): everyone(200),
    # Coordinators only; 422 because the fixed dataset's artifacts have no local weights.
    ("POST", "/api/v1/artifacts/{artifact_id}/forensic-report"): row(
        401, 403, 403, 403, 403, 422, 403, 403, 422
    ),
    ("GET", "/api/v1/reports/{report_id}/attachments"): CASE_A_READ_API,
    # The reporter and the coordinators attach; a notified vendor reads but does not add.
    ("POST", "/api/v1/reports/{report_id}/attachments"): row(
        401, 201, 404, 404, 404, 201, 404, 404, 201
    ),
    ("POST", "/api/v1/reports/{report_id}/attachments/{attachment_id}/download"): CASE_A_READ_API,
    ("POST", "/api/v1/cases/{case_id}/verifications"): row(
        401, 403, 404, 403, 404, 201, 404, 404, 201
    ),
    ("GET", "/api/v1/cases/{case_id}/verifications"): CASE_A_READ_API,
    ("GET", "/api/v1/cases/{case_id}/versions"): CASE_A_READ_API,
    ("GET", "/api/v1/cases/{case_id}/fix-verdicts"): CASE_A_READ_API,
    ("GET", "/api/v1/verifications/{run_id}"): CASE_A_READ_API,
    ("POST", "/api/v1/verifications/{run_id}/cancel"): row(
        401, 403, 404, 403, 404, 200, 404, 404, 200
    ),
    # Duplicate proposals and merges are the coordinators' alone: every other caller, the
    # case's own reporter and vendor included, is told "not found".
    ("GET", "/api/v1/cases/{case_id}/duplicates"): row(401, 404, 404, 404, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/cases/{case_id}/duplicates/{duplicate_id}/dismiss"): row(
        401, 404, 404, 404, 404, 200, 404, 404, 200
    ),
    # Case B (in triage) merged into case A.
    ("POST", "/api/v1/cases/{case_id}/merge"): row(401, 404, 404, 404, 404, 200, 404, 404, 200),
    ("GET", "/api/v1/me"): signed_in(200, anonymous=401),
    ("PUT", "/api/v1/me/identity"): signed_in(204, anonymous=401),
    # Nobody in the fixed dataset has sealed an identity yet: the caller's own is missing.
    ("POST", "/api/v1/me/identity/unseal"): signed_in(404, anonymous=401),
    # Transparency (issue #8). Metrics, published assessments and the hall of fame are public.
    ("GET", "/api/v1/metrics"): everyone(200),
    ("GET", "/api/v1/assessments"): everyone(200),
    ("GET", "/api/v1/assessments/compare"): everyone(200),
    ("GET", "/api/v1/assessments/{assessment_id}"): everyone(200),
    ("POST", "/api/v1/assessments"): row(401, 403, 403, 403, 403, 403, 403, 201, 403),
    # Published already (409) for its assessor; nobody else may publish it.
    ("POST", "/api/v1/assessments/{assessment_id}/publish"): row(
        401, 403, 403, 403, 403, 403, 403, 409, 403
    ),
    # The sealed detail: the assessed organisation (vendor A) and the assessors only.
    ("POST", "/api/v1/assessments/{assessment_id}/detail"): row(
        401, 404, 404, 200, 404, 404, 404, 200, 404
    ),
    ("GET", "/api/v1/cases/{case_id}/credits"): CASE_A_READ_API,
    ("POST", "/api/v1/cases/{case_id}/credits"): row(401, 403, 404, 403, 404, 201, 404, 404, 201),
    ("GET", "/api/v1/me/credits"): signed_in(200, anonymous=401),
    # The credit is researcher_a's: only they answer it.
    ("POST", "/api/v1/credits/{credit_id}/respond"): row(
        401, 200, 404, 404, 404, 404, 404, 404, 404
    ),
    ("GET", "/api/v1/programs/{slug}/hall-of-fame"): everyone(200),
    # Bounties: the researcher's own and the program staff's; the case's vendor gets 404.
    ("GET", "/api/v1/cases/{case_id}/bounties"): row(401, 200, 404, 404, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/cases/{case_id}/bounties"): row(401, 403, 404, 403, 404, 201, 404, 404, 201),
    ("GET", "/api/v1/bounties/{bounty_id}"): row(401, 200, 404, 404, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/bounties/{bounty_id}/status"): row(
        401, 403, 404, 404, 404, 200, 404, 404, 200
    ),
    ("POST", "/api/v1/bounties/{bounty_id}/donation"): row(
        401, 200, 404, 404, 404, 403, 404, 404, 403
    ),
    # Re-verification is the reporter's, once a fix is announced: case A has none yet (409).
    ("POST", "/api/v1/cases/{case_id}/reverifications"): row(
        401, 409, 404, 403, 404, 403, 404, 404, 403
    ),
    ("POST", "/api/v1/cases/{case_id}/fix-opinion"): row(
        401, 409, 404, 403, 404, 403, 404, 404, 403
    ),
    # Issue #6. open-models takes complete reports: an abstract alone is refused (422, program).
    ("POST", "/api/v1/reports/abstract"): signed_in(422, anonymous=401),
    # Report A is complete: the coordinators are told no scope check is pending (422); the
    # reporter and the vendor see the report but may not decide scope.
    ("POST", "/api/v1/reports/{report_id}/scope"): row(401, 403, 404, 403, 404, 422, 404, 404, 422),
    # Only the reporter uploads; report A already has its payload (422).
    ("POST", "/api/v1/reports/{report_id}/payload"): row(
        401, 422, 404, 403, 404, 403, 404, 404, 403
    ),
    ("PUT", "/api/v1/cases/{case_id}/score"): row(401, 403, 404, 403, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/cases/{case_id}/waiting"): row(401, 403, 404, 403, 404, 200, 404, 404, 200),
    # Every party may ask for more time; the coordinators decide.
    ("POST", "/api/v1/cases/{case_id}/extensions"): row(
        401, 201, 404, 201, 404, 201, 404, 404, 201
    ),
    ("POST", "/api/v1/cases/{case_id}/extensions/{extension_id}/decision"): row(
        401, 403, 404, 403, 404, 200, 404, 404, 200
    ),
    # Proposing is the coordinators'; the vendor agrees (tests/cases/test_embargo.py).
    ("POST", "/api/v1/cases/{case_id}/embargo"): row(401, 403, 404, 403, 404, 200, 404, 404, 200),
    # Telling one more vendor is the coordinators'; vendor A was already told of case A (422).
    ("POST", "/api/v1/cases/{case_id}/vendors"): row(401, 403, 404, 403, 404, 422, 404, 404, 422),
    # The vendor grid: the case's parties (coordinators, told vendors), not its reporter.
    ("GET", "/api/v1/cases/{case_id}/vendors"): row(401, 404, 404, 200, 404, 200, 404, 404, 200),
    # A vendor states its own status; the coordinators any vendor's.
    ("POST", "/api/v1/cases/{case_id}/vendors/{organisation}/status"): row(
        401, 403, 404, 200, 404, 200, 404, 404, 200
    ),
    # Target registry (issue 19): the target here is vendor A's, offered to the program.
    ("GET", "/api/v1/verification/targets"): signed_in(200, anonymous=401),
    # Vendor A's members (and the admin) register for vendor A; anyone else: 422 organisation.
    ("POST", "/api/v1/verification/targets"): row(401, 422, 422, 201, 422, 422, 422, 422, 201),
    ("GET", "/api/v1/verification/targets/{target_id}"): row(
        401, 404, 404, 200, 404, 200, 404, 404, 200
    ),
    ("POST", "/api/v1/verification/targets/{target_id}/offer"): row(
        401, 404, 404, 200, 404, 403, 404, 404, 200
    ),
    ("POST", "/api/v1/verification/targets/{target_id}/retire"): row(
        401, 404, 404, 200, 404, 403, 404, 404, 200
    ),
    ("POST", "/api/v1/cases/{case_id}/matrices"): row(401, 403, 404, 403, 404, 201, 404, 404, 201),
    ("GET", "/api/v1/cases/{case_id}/matrices"): CASE_A_READ_API,
    ("GET", "/api/v1/matrices/{group_id}"): CASE_A_READ_API,
    # No reproduced cell in the matrix: nobody to bring in (422) for the coordinators.
    ("POST", "/api/v1/matrices/{group_id}/vendors"): row(
        401, 403, 404, 403, 404, 422, 404, 404, 422
    ),
    ("GET", "/api/v1/webhooks"): signed_in(200, anonymous=401),
    # A program's webhooks are its triagers' (the coordinator organisation runs open-models).
    ("POST", "/api/v1/webhooks"): row(401, 403, 403, 403, 403, 201, 403, 403, 201),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): row(
        401, 404, 404, 404, 404, 200, 404, 404, 200
    ),
    ("PUT", "/api/v1/programs/{slug}/policy"): row(401, 403, 403, 403, 403, 200, 403, 403, 200),
    # Advisories: {advisory_id} is a published advisory of case A (made on demand, below).
    # Reads are public (each at the reader's level); only the case's coordinators write, and a
    # party who can see the case or the published advisory is told 403, others 404.
    ("GET", "/api/v1/advisories"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}/revisions"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}/export/{fmt}"): everyone(200),
    # The transparency log (issue 18) is public: no head is signed in the fixed dataset (404),
    # and the proofs and entries need query parameters the matrix does not send (422);
    # tests/transparency_log/test_api.py reads them.
    ("GET", "/api/v1/log/tree-head"): everyone(404),
    ("GET", "/api/v1/log/proof/inclusion"): everyone(422),
    ("GET", "/api/v1/log/proof/consistency"): everyone(422),
    ("GET", "/api/v1/log/entries"): everyone(422),
    ("GET", "/api/v1/log/entry"): everyone(422),
    ("POST", "/api/v1/cases/{case_id}/advisories"): row(
        401, 403, 404, 403, 404, 201, 404, 404, 201
    ),
    ("PATCH", "/api/v1/advisories/{advisory_id}"): row(401, 403, 403, 403, 403, 200, 403, 403, 200),
    ("POST", "/api/v1/advisories/{advisory_id}/transition"): row(
        401, 403, 403, 403, 403, 200, 403, 403, 200
    ),
    # Four eyes (issue 17): the coordinators' only; the fixed advisory is already published, so
    # approving it is refused as a move the state machine does not allow (409).
    ("POST", "/api/v1/advisories/{advisory_id}/approve"): row(
        401, 403, 403, 403, 403, 409, 403, 403, 409
    ),
    # Signed attestations (issue 18) of finished runs only: the fixture's run is queued. The
    # advisory lists none below the defender level (an empty list, for everyone here).
    ("GET", "/api/v1/advisories/{advisory_id}/attestations"): everyone(200),
    ("GET", "/api/v1/advisories/{advisory_id}/attestations/{run_id}"): everyone(404),
    ("GET", "/api/v1/verifications/{run_id}/attestation"): row(
        401, 422, 404, 422, 404, 422, 404, 404, 422
    ),
}

WEB: dict[tuple[str, str], dict[str, int]] = {
    ("GET", ""): everyone(200),
    # Probes and metrics: public liveness/readiness; /metrics from loopback (the test client's
    # address) or with MODELCVD_METRICS_TOKEN (tests/core/test_observability.py).
    ("GET", "healthz"): everyone(200),
    ("GET", "readyz"): everyone(200),
    ("GET", "metrics"): everyone(200),
    # The site icon, from static (tests/web/test_favicon.py).
    ("GET", "favicon.ico"): everyone(200),
    ("GET", "signin/"): everyone(200),
    # Ways in (issue 17): sign-up and password reset are open to all; a link that is not a
    # valid one is not found (verification) or says so (reset, as Django's view does).
    ("GET", "signup/"): everyone(200),
    # Invitation links are the administrators' (issue 17).
    ("GET", "account/invitations/"): row(302, 404, 404, 404, 404, 404, 404, 404, 200),
    ("GET", "signup/sent/"): everyone(200),
    ("GET", "signup/verify/<uidb64>/<token>/"): everyone(404),
    ("GET", "signin/password-reset/"): everyone(200),
    ("GET", "signin/password-reset/sent/"): everyone(200),
    ("GET", "signin/password-reset/<uidb64>/<token>/"): everyone(200),
    ("GET", "signin/password-reset/complete/"): everyone(200),
    # Anonymous intake is open to all; a follow-up page needs its secret (not this one).
    ("GET", "reports/anonymous/<slug:program>/"): everyone(200),
    ("GET", "follow-up/<str:secret>/"): everyone(404),
    ("POST", "signout/"): everyone(302),
    # The second sign-in step. Every session here is complete (staff verified, the others owe
    # no code), so the code page sends everyone on; enrolling is open to non-staff (optional)
    # and sends enrolled staff on. Anonymous callers go to the password page.
    ("GET", "signin/two-factor/"): everyone(302),
    ("POST", "signin/two-factor/"): everyone(302),
    ("GET", "signin/two-factor/setup/"): row(302, 200, 200, 200, 200, 302, 200, 200, 302),
    # No setup under way in this session (no key shown yet): back to the setup page.
    ("POST", "signin/two-factor/setup/"): everyone(302),
    # API tokens (issue 15.5): each person's own; another's token is not found, admins' too.
    ("GET", "account/tokens/"): signed_in(200, anonymous=302),
    ("POST", "account/tokens/"): signed_in(201, anonymous=302),
    ("POST", "account/tokens/<int:token_id>/revoke/"): row(
        302, 302, 404, 404, 404, 404, 404, 404, 404
    ),
    # The account's second-factor page; new recovery codes need an enrolled app (the staff
    # here), others are sent to enrol.
    ("GET", "account/two-factor/"): signed_in(200, anonymous=302),
    ("POST", "account/two-factor/"): row(302, 302, 302, 302, 302, 200, 302, 302, 200),
    ("GET", "programs/"): everyone(302),
    ("GET", "programs/<slug:slug>/"): everyone(200),
    ("GET", "reports/new/"): signed_in(200, anonymous=302),
    # The report format's schema is public, like the format (issue 17: the form's file).
    ("GET", "schemas/report/1.0/report.schema.json"): everyone(200),
    ("GET", "reports/"): signed_in(200, anonymous=302),
    ("GET", "reports/<int:report_id>/"): CASE_A_READ_WEB,
    ("POST", "reports/<int:report_id>/attachments/"): row(
        302, 302, 404, 404, 404, 302, 404, 404, 302
    ),
    ("POST", "reports/<int:report_id>/attachments/<int:attachment_id>/"): row(
        302, 200, 404, 200, 404, 200, 404, 404, 200
    ),
    ("GET", "triage/"): signed_in(200, anonymous=302),
    ("GET", "cases/<int:case_id>/"): CASE_A_READ_WEB,
    # 422: the reporter is offered no transition, so any choice is invalid on the form.
    ("POST", "cases/<int:case_id>/transition/"): row(302, 422, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/comments/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    # The index lists what each caller may see (tests/artifacts/test_index.py checks who sees what).
    ("GET", "artifacts/"): everyone(200),
    ("GET", "artifacts/<int:artifact_id>/lineage/"): everyone(200),
    # Coordinators only (an empty form sends them back with a message).
    ("POST", "artifacts/<int:artifact_id>/forensic-report/"): row(
        302, 404, 404, 404, 404, 302, 404, 404, 302
    ),
    # Transparency (issue #8).
    ("GET", "metrics/"): everyone(200),
    ("GET", "programs/<slug:slug>/hall-of-fame/"): everyone(200),
    ("GET", "credits/"): signed_in(200, anonymous=302),
    ("POST", "credits/<int:credit_id>/respond/"): row(302, 302, 404, 404, 404, 404, 404, 404, 404),
    # Staff see the bounty but may not redirect it (message, back to the page); others 404.
    ("POST", "bounties/<int:bounty_id>/donation/"): row(
        302, 302, 404, 404, 404, 302, 404, 404, 302
    ),
    ("GET", "assessments/"): everyone(200),
    ("GET", "assessments/compare/"): everyone(200),
    ("GET", "assessments/new/"): row(302, 404, 404, 404, 404, 404, 404, 200, 404),
    # An empty form: 422 for the assessor.
    ("POST", "assessments/new/"): row(302, 404, 404, 404, 404, 404, 404, 422, 404),
    ("GET", "assessments/<int:assessment_id>/"): everyone(200),
    # Opening the sealed detail.
    ("POST", "assessments/<int:assessment_id>/"): row(404, 404, 404, 200, 404, 404, 404, 200, 404),
    # Published already, or not theirs to publish: a message and back to the page.
    ("POST", "assessments/<int:assessment_id>/publish/"): everyone(302),
    # Those who see case A get the page back with a message (no fix announced; not the
    # reporter); the others 404.
    ("POST", "cases/<int:case_id>/reverify/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/fix-opinion/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    # Issue #6. The fixed dataset has no default program: /.well-known/security.txt is 404
    # (tests/programs/test_security_txt.py serves it for a default program).
    ("GET", ".well-known/security.txt"): everyone(404),
    ("GET", "programs/<slug:slug>/security.txt"): everyone(200),
    # The transparency log's public keys (issue 18): anyone verifies tree heads with them.
    ("GET", ".well-known/modelcvd/log-keys.json"): everyone(200),
    ("GET", "reports/abstract/"): signed_in(200, anonymous=302),
    # Parties get a redirect with a message (refused, or nothing pending on report A); the
    # others the same 404 as for a missing report.
    ("POST", "reports/<int:report_id>/scope/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "reports/<int:report_id>/payload/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/score/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/waiting/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/extensions/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/extensions/<int:extension_id>/decision/"): row(
        302, 302, 404, 302, 404, 302, 404, 404, 302
    ),
    ("POST", "cases/<int:case_id>/embargo/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/vendors/"): row(302, 302, 404, 302, 404, 422, 404, 404, 422),
    ("POST", "cases/<int:case_id>/vendors/<slug:organisation>/status/"): row(
        302, 302, 404, 302, 404, 302, 404, 404, 302
    ),
    ("GET", "verification/targets/"): signed_in(200, anonymous=302),
    ("POST", "verification/targets/"): signed_in(422, anonymous=302),
    ("POST", "verification/targets/<int:target_id>/offer/"): row(
        302, 404, 404, 302, 404, 403, 404, 404, 302
    ),
    ("POST", "verification/targets/<int:target_id>/retire/"): row(
        302, 404, 404, 302, 404, 403, 404, 404, 302
    ),
    ("POST", "cases/<int:case_id>/matrix/"): row(302, 302, 404, 302, 404, 302, 404, 404, 302),
    ("POST", "matrices/<int:group_id>/vendors/"): row(302, 403, 404, 403, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/merge/"): row(302, 404, 404, 404, 404, 302, 404, 404, 302),
    ("POST", "cases/<int:case_id>/duplicates/<int:duplicate_id>/dismiss/"): row(
        302, 404, 404, 404, 404, 302, 404, 404, 302
    ),
    # The public registry: everyone reads, each at their own level on the advisory page.
    ("GET", "advisories/"): everyone(200),
    ("GET", "advisories/feed.atom"): everyone(200),
    ("GET", "advisories/export.jsonl"): everyone(200),
    ("GET", "advisories/<str:advisory_id>/"): everyone(200),
    # The coordinators' advisory pages, as the API: parties who see the case (or the published
    # advisory) are told 403, others 404; {advisory_id} is published, so everyone sees it.
    ("GET", "advisories/draft/<int:case_id>/"): row(302, 403, 404, 403, 404, 200, 404, 404, 200),
    ("POST", "advisories/draft/<int:case_id>/"): row(302, 403, 404, 403, 404, 302, 404, 404, 302),
    ("POST", "advisories/<str:advisory_id>/edit/"): row(
        302, 403, 403, 403, 403, 302, 403, 403, 302
    ),
    ("POST", "advisories/<str:advisory_id>/transition/"): row(
        302, 403, 403, 403, 403, 302, 403, 403, 302
    ),
}
WEB.update(
    {
        # The case inbox and notification settings (issue 17): anyone signed in, their own.
        ("GET", "cases/"): signed_in(200, anonymous=302),
        ("GET", "account/notifications/"): signed_in(200, anonymous=302),
        ("POST", "account/notifications/"): signed_in(302, anonymous=302),
        ("GET", "rubric/"): everyone(200),
        # Four eyes: approving is the case's coordinators' (the published advisory refuses it
        # with a message, 302); reading the reproduction asks for a reason, and renders the
        # page at the reader's level (a reason alone opens nothing below the vendor level).
        ("POST", "advisories/<str:advisory_id>/approve/"): row(
            302, 403, 403, 403, 403, 302, 403, 403, 302
        ),
        ("POST", "advisories/<str:advisory_id>/reproduction/"): everyone(200),
        # Attestations of finished runs only: the fixture's run is queued.
        ("GET", "advisories/<str:advisory_id>/attestations/<int:run_id>.json"): everyone(404),
        # (422 to whoever may read the run: it has not finished, so there is nothing to sign.)
        ("GET", "verifications/<int:run_id>/attestation.json"): row(
            302, 422, 404, 422, 404, 422, 404, 404, 422
        ),
        # Watching a run (issue 17): whoever may read it; cancelling is the coordinators'.
        ("GET", "verifications/<int:run_id>/"): row(302, 200, 404, 200, 404, 200, 404, 404, 200),
        ("POST", "verifications/<int:run_id>/cancel/"): row(
            302, 403, 404, 403, 404, 302, 404, 404, 302
        ),
        # The OSV-style dump (issue 18): public.
        ("GET", "advisories/osv/<str:advisory_id>.json"): everyone(200),
        ("GET", "advisories/osv/all.zip"): everyone(200),
        ("GET", "advisories/osv/modified_id.csv"): everyone(200),
    }
)
# Served by other means and checked elsewhere: the API (below, from its schema) and its docs;
# the CSAF provider's files (tests/advisories/test_csaf_provider.py: public documents only,
# drafts, other TLP folders, other years and every method but GET/HEAD refused).
WEB_ROUTES_COVERED_ELSEWHERE = {"api/", ".well-known/csaf/"}


def _walk(patterns: list[Any], prefix: str = "") -> list[str]:
    routes = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if route in WEB_ROUTES_COVERED_ELSEWHERE:
                continue
            routes.extend(_walk(p.url_patterns, route))
        elif isinstance(p, URLPattern):
            routes.append(route)
    return routes


def test_every_web_route_has_a_matrix_entry() -> None:
    routes = set(_walk(get_resolver().url_patterns))
    assert routes == {route for _, route in WEB}


def test_every_api_operation_has_a_matrix_entry() -> None:
    schema = json.loads(Client().get("/api/openapi.json").content)
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations == set(API)


def _advisory_id(world: World) -> str:
    """A published advisory of case A, made the first time a route needs one."""
    from modelcvd.advisories.models import Advisory
    from tests.advisories.helpers import make_advisory

    existing = Advisory.objects.filter(case=world.cases["a"]).first()
    return (existing or make_advisory(world)).advisory_id


def _fill(path: str, world: World) -> str:
    # The dump names records by their OSV id (x_ + the advisory id: interop/osv.py).
    path = path.replace("osv/<str:advisory_id>", "osv/x_<str:advisory_id>")
    if "advisory_id" in path:
        path = path.replace("{advisory_id}", _advisory_id(world))
        path = path.replace("<str:advisory_id>", _advisory_id(world))
    values = {
        "{report_id}": world.reports["a"].pk,
        "<int:report_id>": world.reports["a"].pk,
        "{case_id}": world.cases["a"].pk,
        "<int:case_id>": world.cases["a"].pk,
        "{artifact_id}": world.artifacts["a"].pk,
        "<int:artifact_id>": world.artifacts["a"].pk,
        "{attachment_id}": world.attachment.pk if world.attachment else 0,
        "{run_id}": world.run.pk if world.run else 0,
        "<int:run_id>": world.run.pk if world.run else 0,
        "{duplicate_id}": world.duplicate.pk if world.duplicate else 0,
        "<int:duplicate_id>": world.duplicate.pk if world.duplicate else 0,
        "<int:attachment_id>": world.attachment.pk if world.attachment else 0,
        "{slug}": "open-models",
        "{fmt}": "csaf",
        "<slug:slug>": "open-models",
        "<slug:program>": "open-models",
        "<uidb64>": "MQ",
        "<token>": "cz1234-0123456789abcdef",
        "<str:secret>": "mcvf_not-a-secret",
    }
    if any(k in path for k in ("assessment_id", "credit_id", "bounty_id")):
        t = transparency_of(world)
        values.update(
            {
                "{assessment_id}": t.assessment.pk,
                "<int:assessment_id>": t.assessment.pk,
                "{credit_id}": t.credit.pk,
                "<int:credit_id>": t.credit.pk,
                "{bounty_id}": t.bounty.pk,
                "<int:bounty_id>": t.bounty.pk,
            }
        )
    if "extension_id" in path:
        values["{extension_id}"] = values["<int:extension_id>"] = _extension_id(world)
    if "{webhook_id}" in path:
        values["{webhook_id}"] = _webhook_id(world)
    if "target_id" in path or "matrices" in path or "matrix" in path:
        values["{target_id}"] = values["<int:target_id>"] = _target_id(world)
    if "group_id" in path:
        values["{group_id}"] = values["<int:group_id>"] = _group_id(world)
    values["{organisation}"] = values["<slug:organisation>"] = "vendor-a"
    if "<int:token_id>" in path:  # a token of researcher_a's
        token, _ = token_create(user=world.users["researcher_a"], scopes=["read"])
        values["<int:token_id>"] = token.pk
    for key, value in values.items():
        path = path.replace(key, str(value))
    return path


def _extension_id(world: World) -> int:
    """A pending extension request on case A (made here: only these rows need one)."""
    from modelcvd.cases.services import extension_request

    return extension_request(
        case_id=world.cases["a"].pk,
        actor=world.users["vendor_a"],
        deadline="triage",
        days=3,
        reason="permission matrix",
    ).pk


def _target_id(world: World) -> int:
    """Vendor A's endpoint target on its artifact, offered to the program (made once)."""
    from modelcvd.verification.models import Target

    target, created = Target.objects.get_or_create(
        organisation=world.orgs["vendor_a"],
        name="matrix target",
        defaults={
            "kind": "endpoint",
            "artifact": world.artifacts["a"],
            "url": "http://127.0.0.1:9/v1",
            "model_name": "chat-7b",
            "registered_by": world.users["vendor_a"],
        },
    )
    if created:
        target.offered_to.add(world.program)
    return target.pk


def _group_id(world: World) -> int:
    from modelcvd.verification.models import RunGroup

    group = RunGroup.objects.filter(case=world.cases["a"]).first() or RunGroup.objects.create(
        case=world.cases["a"], requested_by=world.users["triager"], trials=5
    )
    return group.pk


def _webhook_id(world: World) -> int:
    from modelcvd.notifications.services import webhook_create

    endpoint, _ = webhook_create(
        actor=world.users["admin"], url="http://127.0.0.1:9/hook", program_slug="open-models"
    )
    return endpoint.pk


VISIBILITY = {"researcher_a": "reporter", "vendor_a": "vendor"}


def _api_body(path: str, role: str, world: World) -> dict[str, Any]:
    if path.endswith("/approve"):
        return {"reason": "permission matrix"}
    if "/vendors/" in path and path.endswith("/status"):
        return {"status": "affected"}
    if path.endswith("/verification/targets"):
        return {
            "organisation": "vendor-a",
            "name": "t",
            "kind": "endpoint",
            "artifact_id": world.artifacts["a"].pk,
            "url": "http://127.0.0.1:9/v1",
            "model_name": "chat-7b",
        }
    if path.endswith("/offer"):
        return {"program": "open-models"}
    if path.endswith("/retire"):
        return {}
    if path.endswith("/matrices"):
        return {"target_ids": [_target_id(world)], "trials": 2}
    if path.endswith("/matrices/{group_id}/vendors"):
        return {"organisation": "vendor-b", "reason": "permission matrix"}
    if path.endswith("/advisories"):
        from tests.advisories.helpers import content

        return content()
    if "/advisories/" in path and path.endswith("/transition"):
        return {"to": "withdrawn", "reason": "permission matrix"}
    if "/advisories/" in path:
        return {"summary": "Edited by the permission matrix.", "changelog": "matrix"}
    body = _transparency_body(path, world)
    if body is not None:
        return body
    if path.endswith("/reports"):
        return report_data()
    if path.endswith("/verifications"):
        return {
            "artifact_id": world.artifacts["a"].pk,
            "target": "openai:http://127.0.0.1:9/v1#chat-7b",
            "trials": 5,
        }
    if path.endswith("/cancel"):
        return {}
    if path.endswith("/download") or path.endswith("/dismiss"):
        return {"reason": "permission matrix"}
    if path.endswith("/merge"):
        return {"source_case_id": world.cases["b"].pk, "reason": "permission matrix"}
    if path.endswith("/unseal"):
        return {"reason": "permission matrix"}
    if path.endswith("/transition"):
        return {"to": "remediating", "reason": "permission matrix"}
    if path.endswith("/comments"):
        return {"body": "hello", "visibility": VISIBILITY.get(role, "internal")}
    if path.endswith("/artifacts"):
        return {"provider": "p", "name": "n", "revision": "r"}
    if path.endswith("/forensic-report"):
        return {"base_id": world.artifacts["b"].pk, "program": "open-models"}
    if path.endswith("/me/identity"):
        return {"legal_name": "Jane Doe", "email": "jane@example.test"}
    if path.endswith("/reports/abstract"):
        return {k: v for k, v in report_data().items() if k != "reproduction"}
    if path.endswith("/scope"):
        return {"in_scope": True, "reason": "permission matrix"}
    if path.endswith("/payload"):
        return {"reproduction": report_data()["reproduction"]}
    if path.endswith("/score"):
        return {"rubric": {"access": "hosted_api"}}
    if path.endswith("/waiting"):
        return {"waiting": True, "reason": "permission matrix"}
    if path.endswith("/extensions"):
        return {"deadline": "triage", "days": 5, "reason": "permission matrix"}
    if path.endswith("/decision"):
        return {"approve": True, "reason": "permission matrix"}
    if path.endswith("/embargo"):
        return {"action": "propose", "public_date": "2099-01-01T00:00:00Z", "reason": "matrix"}
    if path.endswith("/vendors"):
        return {"organisation": "vendor-a", "reason": "permission matrix"}
    if path.endswith("/webhooks"):
        return {"url": "http://127.0.0.1:9/hook", "program": "open-models"}
    if path.endswith("/policy"):
        return {"safe_harbor": "We will not sue good-faith researchers."}
    raise AssertionError(f"no body for {path}")


@pytest.mark.parametrize(
    ("method", "path", "role"), [(m, p, r) for (m, p) in API for r in ROLES], ids=lambda v: str(v)
)
def test_api_matrix(world: World, method: str, path: str, role: str) -> None:
    client = Client(enforce_csrf_checks=True)
    headers = (
        {}
        if role == "anonymous"
        else {
            "HTTP_AUTHORIZATION": f"Bearer {token_for(world.users[role], ['read', 'submit', 'triage', 'admin'])}"
        }
    )
    url = _fill(path, world)
    if method == "GET":
        response = client.get(url, **headers)
    else:
        if path.endswith("/attachments"):  # multipart upload
            upload = SimpleUploadedFile("notes.txt", b"hello\n", content_type="text/plain")
            response = client.post(url, data={"file": upload}, **headers)
        else:
            send = {"PUT": client.put, "PATCH": client.patch}.get(method, client.post)
            body = json.dumps(_api_body(path, role, world))
            response = send(url, data=body, content_type="application/json", **headers)
    assert response.status_code == API[(method, path)][role], response.content
    if response.status_code == 404 and method == "GET":
        missing = client.get(re.sub(r"/\d+(?=/|$)", "/99999", url, count=1), **headers)
        assert response.content == b'{"detail": "not found"}' == missing.content


def _transparency_body(path: str, world: World) -> dict[str, Any] | None:
    if path.endswith("/assessments"):
        return {
            "subject": "vendor-b",
            "title": "Matrix assessment",
            "threat_models": [
                {
                    "threat_model": "compute_misuse",
                    "scope": "s",
                    "method": "m",
                    "started_on": "2026-01-01",
                    "ended_on": "2026-01-02",
                    "claim": "basic",
                }
            ],
        }
    bodies: dict[str, dict[str, Any]] = {
        "/publish": {},
        "/detail": {"reason": "permission matrix"},
        "/credits": {"credit_type": "analyst", "user": "researcher_b"},
        "/respond": {"accept": True, "listed": True},
        "/bounties": {"researcher": "researcher_a", "amount": "100.00", "currency": "EUR"},
        "/status": {"status": "approved"},
        "/donation": {"donate": True, "charity": "Matrix Trust"},
        "/reverifications": {"artifact_id": world.artifacts["a"].pk, "trials": 5},
        "/fix-opinion": {"agrees": True, "statement": "permission matrix"},
    }
    for suffix, body in bodies.items():
        if path.endswith(suffix):
            return body
    return None


def _web_body(route: str, role: str, world: World) -> dict[str, Any]:
    transparency: dict[str, dict[str, Any]] = {
        "respond/": {"answer": "listed"},
        "donation/": {"donate": "on", "charity": "Matrix Trust"},
        "assessments/new/": {},
        "assessments/<int:assessment_id>/": {"reason": "permission matrix"},
        "reverify/": {"trials": "5"},
        "fix-opinion/": {"agrees": "yes", "statement": "permission matrix"},
    }
    for suffix, body in transparency.items():
        if route.endswith(suffix):
            return body
    if route.endswith("/status/"):
        return {"status": "affected"}
    if route.endswith("reproduction/"):
        return {"reason": "permission matrix"}
    if route == "account/notifications/":
        return {"wanted": ["comments"]}
    if route.endswith("/offer/"):
        return {"program": "open-models", "offered": "yes"}
    if route.endswith("matrix/"):
        return {"target_ids": [str(_target_id(world))], "trials": "2"}
    if route.endswith("matrices/<int:group_id>/vendors/"):
        return {"organisation": "vendor-b", "reason": "permission matrix"}
    if route == "account/tokens/":
        return {"name": "matrix", "scopes": ["read", "submit"], "days": "30"}
    if route.startswith("advisories/"):
        from tests.advisories.helpers import FORM

        if route.endswith("transition/"):
            return {"to": "withdrawn", "reason": "permission matrix"}
        return {**FORM, "changelog": "permission matrix"}
    if route.endswith("<int:attachment_id>/") or route.endswith("dismiss/"):
        return {"reason": "permission matrix"}
    if route.endswith("merge/"):
        return {"source": world.cases["b"].pk, "reason": "permission matrix"}
    if route.endswith("attachments/"):
        return {"file": SimpleUploadedFile("notes.txt", b"hello\n")}
    if route.endswith("transition/"):
        return {"to": "remediating", "reason": "permission matrix"}
    if route.endswith("comments/"):
        return {"body": "hello", "visibility": VISIBILITY.get(role, "internal")}
    if route.endswith("scope/"):
        return {"in_scope": "yes", "reason": "permission matrix"}
    if route.endswith("payload/"):
        return {"turn_1": "hello", "successes": 1, "trials": 2}
    if route.endswith("score/"):
        return {"access": "hosted_api", "harm_category": "nonviolent_crimes"}
    if route.endswith("waiting/"):
        return {"waiting": "yes", "reason": "permission matrix"}
    if route.endswith("extensions/"):
        return {"deadline": "triage", "days": 5, "reason": "permission matrix"}
    if route.endswith("decision/"):
        return {"approve": "yes", "reason": "permission matrix"}
    if route.endswith("embargo/"):
        return {"action": "propose", "public_date": "2099-01-01 00:00", "reason": "matrix"}
    if route.endswith("vendors/"):
        return {"organisation": "vendor-a", "reason": "permission matrix"}
    return {}


@pytest.mark.parametrize(
    ("method", "route", "role"), [(m, p, r) for (m, p) in WEB for r in ROLES], ids=lambda v: str(v)
)
def test_web_matrix(world: World, method: str, route: str, role: str) -> None:
    client = Client(enforce_csrf_checks=True)
    if role != "anonymous":
        sign_in(client, world.users[role])  # staff also give their second factor
    url = "/" + _fill(route, world)
    if method == "GET":
        response = client.get(url)
    else:
        client.get("/signin/")  # sets the CSRF cookie, as a browser would on any form page
        token = client.cookies["csrftoken"].value
        response = client.post(url, {**_web_body(route, role, world), "csrfmiddlewaretoken": token})
    assert response.status_code == WEB[(method, route)][role], response.content[:300]
