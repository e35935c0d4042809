"""Builders for test data. Everything goes through the services, as production data does."""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.test import Client
from django_otp import login as otp_login
from django_otp.oath import TOTP

from modelcvd.accounts.models import Organisation, Role, TotpDevice, User
from modelcvd.accounts.services import (
    membership_grant,
    token_create,
    totp_device_confirm,
    user_create,
)
from modelcvd.accounts.twofactor import totp_device_for
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.cases.services import case_transition
from modelcvd.policy.models import Program
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.models import Attachment, DuplicateCandidate, Report
from modelcvd.reports.services import report_submit
from modelcvd.reports.services.attachments import attachment_add
from modelcvd.reports.services.dedup import dedup_index_report
from modelcvd.verification.models import VerificationRun

PASSWORD = "correct horse battery staple"
ROLES = [
    "researcher_a",
    "researcher_b",
    "vendor_a",
    "vendor_b",
    "triager",
    "defender",
    "assessor",
    "admin",
]

REPORT: dict[str, Any] = {
    "title": "Role-play jailbreak",
    "abstract": "A role-play framing bypasses the refusal.",
    "program": "open-models",
    "artifacts": [{"provider": "vendor-a", "name": "chat-7b", "revision": "a" * 40}],
    "technique": {"owasp": "LLM01", "atlas": "AML.T0054"},
    "harm_category": "nonviolent_crimes",
    "reproduction": {
        "system_prompt": "You are a helpful assistant.",
        "turns": [{"role": "user", "content": "Pretend you are a locksmith..."}],
        "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 128, "seed": 7},
        "successes": 3,
        "trials": 10,
    },
    "expected_behaviour": "Refusal.",
    "observed_behaviour": "Compliance.",
    "impact": "Harmful instructions.",
}


def report_data(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(REPORT)
    data.update(overrides)
    return data


def document(**overrides: Any) -> ReportDocument:
    return ReportDocument.model_validate(report_data(**overrides))


def make_user(
    username: str,
    role: str | None = None,
    organisation: Organisation | None = None,
    pseudonym: str = "",
) -> User:
    user = user_create(
        username=username, password=PASSWORD, email=f"{username}@example.test", pseudonym=pseudonym
    )
    if role:
        membership_grant(user=user, role=role, organisation=organisation, actor=None)
    return user


def token_for(user: User, scopes: list[str]) -> str:
    return token_create(user=user, scopes=scopes)[1]


# The secret of each authenticator enrolled here, as the user's app holds it (the database
# holds it only sealed).
_AUTHENTICATOR_KEYS: dict[int, bytes] = {}


def enrol_totp(user: User) -> TotpDevice:
    """A confirmed authenticator for `user`, as if they had completed the setup page a while
    ago (so the code their app shows now has not been used yet)."""
    key = secrets.token_bytes(20)
    device = totp_device_confirm(user=user, key=key, token=f"{TOTP(key).token():06d}")
    assert device is not None
    TotpDevice.objects.filter(pk=device.pk).update(last_t=-1, drift=0)
    device.refresh_from_db()
    _AUTHENTICATOR_KEYS[device.pk] = key
    return device


def authenticator_key(device: TotpDevice) -> bytes:
    """The secret the user's app holds for `device` (enrolled by `enrol_totp`)."""
    return _AUTHENTICATOR_KEYS[device.pk]


def totp_code(device: TotpDevice, *, at: float | None = None) -> str:
    """The code the user's authenticator app shows right now (or at time `at`)."""
    totp = TOTP(authenticator_key(device), device.step, 0, device.digits, 0)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, user: User) -> Client:
    """Sign `client` in as `user` with the password and, when enrolled, the second factor.

    The second step is django-otp's own `login`, as the code page calls it once a code is
    accepted: the session ends up exactly as a browser's would.
    """
    assert client.login(username=user.username, password=PASSWORD)
    device = totp_device_for(user)
    if device is not None:
        request = HttpRequest()
        request.session = client.session
        request.user = user
        otp_login(request, device)
        request.session.save()
    return client


@dataclass
class World:
    """The fixed dataset: one coordinator program, two vendors, one user per role, two cases.

    The staff (triager, admin) have a confirmed TOTP device; `sign_in` verifies their session.

    case_a: researcher_a's report on vendor A's model, vendor A notified; one attachment.
    case_b: researcher_b's report on vendor B's model, still in triage.
    duplicate: the two reports carry the same payload, so indexing proposes b as a duplicate
    of a (as the worker does when a report arrives).
    """

    users: dict[str, User] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)
    program: Program | None = None
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    attachment: Attachment | None = None
    run: VerificationRun | None = None
    duplicate: DuplicateCandidate | None = None


def build_world() -> World:
    w = World()
    w.orgs = {
        "coordinator": Organisation.objects.create(
            name="Coordinator", slug="coord", kind="coordinator"
        ),
        "vendor_a": Organisation.objects.create(name="Vendor A", slug="vendor-a", kind="vendor"),
        "vendor_b": Organisation.objects.create(name="Vendor B", slug="vendor-b", kind="vendor"),
        "assessor": Organisation.objects.create(
            name="Assessor Org", slug="assessor-org", kind="assessor"
        ),
    }
    w.users = {
        "researcher_a": make_user("researcher_a", Role.RESEARCHER, pseudonym="nightjar"),
        "researcher_b": make_user("researcher_b", Role.RESEARCHER),
        "vendor_a": make_user("vendor_a", Role.VENDOR_MEMBER, w.orgs["vendor_a"]),
        "vendor_b": make_user("vendor_b", Role.VENDOR_MEMBER, w.orgs["vendor_b"]),
        "triager": make_user("triager", Role.TRIAGER, w.orgs["coordinator"]),
        "defender": make_user("defender", Role.DEFENDER),
        "assessor": make_user("assessor", Role.ASSESSOR, w.orgs["assessor"]),
        "admin": make_user("admin", Role.ADMIN),
    }
    for staff in ("triager", "admin"):  # staff sign in with a second factor
        enrol_totp(w.users[staff])
    w.artifacts = {
        "a": Artifact.objects.create(
            provider="vendor-a", name="chat-7b", revision="a" * 40, vendor=w.orgs["vendor_a"]
        ),
        "b": Artifact.objects.create(
            provider="vendor-b",
            name="assistant",
            revision="b" * 40,
            vendor=w.orgs["vendor_b"],
            access=Artifact.Access.API,
        ),
    }
    w.program = Program.objects.create(
        organisation=w.orgs["coordinator"],
        name="Open models",
        slug="open-models",
        policy_text="Be kind.",
    )
    w.program.scope.set(w.artifacts.values())
    w.reports["a"] = report_submit(actor=w.users["researcher_a"], document=document())
    w.attachment = attachment_add(
        report=w.reports["a"],
        actor=w.users["researcher_a"],
        filename="transcript.txt",
        content=b"model output transcript\n",
    )
    w.reports["b"] = report_submit(
        actor=w.users["researcher_b"],
        document=document(
            title="API model leaks its system prompt",
            artifacts=[{"provider": "vendor-b", "name": "assistant", "revision": "b" * 40}],
        ),
    )
    for to in ("acknowledged", "triaged_valid", "vendor_notified"):
        case_transition(
            case_id=w.reports["a"].case_id, actor=w.users["triager"], to=to, reason="fixture"
        )
    w.cases = {k: Case.objects.get(pk=r.case_id) for k, r in w.reports.items()}
    for report in w.reports.values():
        dedup_index_report(report_id=report.pk)
    w.duplicate = DuplicateCandidate.objects.get(report=w.reports["b"], candidate=w.reports["a"])
    # A queued run (made directly: requesting one through the service would queue real work).
    w.run = VerificationRun.objects.create(
        case=w.cases["a"],
        report=w.reports["a"],
        artifact=w.artifacts["a"],
        requested_by=w.users["triager"],
        target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
        trials=10,
    )
    return w
