"""The disclosure-level acceptance test: one published advisory, rendered through every channel
(page, API, each export format, Atom feed, JSON Lines, registry list, e-mail) for every role,
asserting that exactly the fields the role is entitled to on that channel appear, and that the
sealed payload never appears below the vendor level.

Entitlement: vendor for the case's coordinators and notified vendor, defender for defenders,
public for everyone else. Channel ceilings (policy/disclosure.py): page and API vendor; exports
and e-mail defender; feed, JSON Lines and the registry list public.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from modelcvd.advisories.models import Advisory
from modelcvd.core.models import AuditEvent
from modelcvd.policy.disclosure import Channel, Level, channel_level
from tests.advisories.helpers import CNA_ORG_ID, LEVEL_OF, MARKERS, make_advisory
from tests.factories import World, sign_in, token_for
from tests.interop.samples import (
    avid_report_validator,
    csaf_validator,
    cve_record_validator,
    errors,
    osv_validator,
)

ROLES = [
    "anonymous",
    "researcher_a",  # the reporter of the case: no more than the public on the advisory
    "researcher_b",
    "vendor_a",  # the vendor of the case
    "vendor_b",  # another vendor
    "triager",
    "defender",
    "assessor",
    "admin",
]
ENTITLED = {
    "anonymous": Level.PUBLIC,
    "researcher_a": Level.PUBLIC,
    "researcher_b": Level.PUBLIC,
    "vendor_a": Level.VENDOR,
    "vendor_b": Level.PUBLIC,
    "triager": Level.VENDOR,
    "defender": Level.DEFENDER,
    "assessor": Level.PUBLIC,
    "admin": Level.VENDOR,
}
VALIDATORS = {
    "cve5": cve_record_validator,
    "osv": osv_validator,
    "csaf": csaf_validator,
    "avid": avid_report_validator,
}
# Exact measurements (3 of the fixture's 10 trials): how the renderings spell them (pages,
# mail and CSAF notes; JSON documents). Never a rate without them: no band at any level.
MEASURED = ("3 of 10 trials", '"successes": 3')


def _expect(text: str, level: Level) -> None:
    """Every marker of a field at or below `level` is present; every other one is absent.
    (The commitment's marker is its digest: exports carry the digest without the prefix.)"""
    markers = {**MARKERS, "commitment": Advisory.objects.get().commitment.split(":")[1]}
    for field, marker in markers.items():
        entitled = Level.parse(LEVEL_OF[field]) <= level
        assert (marker in text) is entitled, f"{field} ({marker!r}) at level {level.label}"
    measured = any(spelling in text for spelling in MEASURED)
    assert measured is (level >= Level.DEFENDER), f"measurements at {level.label}"
    assert "30-60 %" not in text and "success rate:" not in text.lower()
    if measured:
        # The fixture's counts are the reporter's own: reported, never "replayed here".
        assert "reported by the reporter" in text
        assert "replayed on this instance" not in text


def _client(world: World, role: str, *, web: bool) -> tuple[Client, dict[str, str]]:
    client = Client(enforce_csrf_checks=True)
    if role == "anonymous":
        return client, {}
    if web:
        sign_in(client, world.users[role])
        return client, {}
    token = token_for(world.users[role], ["read"])
    return client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def advisory(world: World, settings: Any) -> Advisory:
    # This instance as a CNA, and a CVE id it assigned: the CVE 5 channel writes a record.
    settings.CVE_CNA_ORG_ID = CNA_ORG_ID
    settings.CVE_CNA_SHORT_NAME = "modelcvd-test"
    return make_advisory(world, cve_id="CVE-2026-40001")


@pytest.mark.parametrize("role", ROLES)
def test_every_channel_renders_exactly_the_entitled_fields(
    world: World, advisory: Advisory, role: str
) -> None:
    entitled = ENTITLED[role]
    aid = advisory.advisory_id

    # Web page (ceiling: vendor). The sealed reproduction opens only with a reason: the plain
    # page never carries it, and asks an entitled reader for one.
    client, _ = _client(world, role, web=True)
    page = client.get(f"/advisories/{aid}/")
    assert page.status_code == 200
    plain = page.content.decode()
    assert MARKERS["reproduction"] not in plain
    level = channel_level(entitled, Channel.PAGE)
    assert ('id="read-reproduction"' in plain) is (level >= Level.VENDOR)
    client.get("/signin/")  # a page with a form: sets the CSRF cookie for anyone
    token = client.cookies["csrftoken"].value
    read = client.post(
        f"/advisories/{aid}/reproduction/",
        {"reason": "checking the fix", "csrfmiddlewaretoken": token},
    )
    assert read.status_code == 200
    _expect(read.content.decode(), level)

    # API JSON (ceiling: vendor); its disclosure_level says which level was applied, and the
    # reproduction needs `reason` there too.
    client, headers = _client(world, role, web=False)
    plain_body = client.get(f"/api/v1/advisories/{aid}", **headers).json()
    assert MARKERS["reproduction"] not in json.dumps(plain_body)
    level = channel_level(entitled, Channel.API)
    assert plain_body.get("reproduction_sealed", False) is (level >= Level.VENDOR)
    body = client.get(f"/api/v1/advisories/{aid}?reason=checking+the+fix", **headers)
    assert body.status_code == 200
    assert body.json()["disclosure_level"] == level.label
    _expect(json.dumps(body.json()), level)

    # Each export (ceiling: defender), each valid against its official schema.
    level = channel_level(entitled, Channel.EXPORT)
    for fmt, validator in VALIDATORS.items():
        exported = client.get(f"/api/v1/advisories/{aid}/export/{fmt}", **headers)
        assert exported.status_code == 200, exported.content
        document = exported.json()
        assert errors(validator(), document) == [], fmt
        _expect(json.dumps(document), level)
        if fmt == "csaf":
            tlp = document["document"]["distribution"]["tlp"]["label"]
            assert tlp == {Level.PUBLIC: "WHITE", Level.DEFENDER: "GREEN"}[level]

    # Registry-wide channels are public whoever asks.
    feed = client.get("/advisories/feed.atom", **headers)
    assert feed["Content-Type"].startswith("application/atom+xml")
    _expect(feed.content.decode(), Level.PUBLIC)
    jsonl = b"".join(client.get("/advisories/export.jsonl", **headers).streaming_content)
    _expect(jsonl.decode(), Level.PUBLIC)
    listed = client.get("/api/v1/advisories", **headers)
    _expect(json.dumps(listed.json()), Level.PUBLIC)
    web_list = _client(world, role, web=True)[0].get("/advisories/")
    assert aid in web_list.content.decode()
    assert MARKERS["reproduction"] not in web_list.content.decode()


def test_the_publication_mail_renders_each_recipient_at_their_level(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        make_advisory(world)
    by_address = {message.to[0]: message.body for message in mail.outbox}
    users = world.users
    # Parties: the reporter, the case's vendor, its coordinators, and defenders. Others get none.
    expected = {
        users["researcher_a"].email: Level.PUBLIC,
        users["vendor_a"].email: Level.DEFENDER,  # capped: no reproduction by e-mail
        users["triager"].email: Level.DEFENDER,
        users["defender"].email: Level.DEFENDER,
    }
    assert set(by_address) == set(expected)
    for address, level in expected.items():
        assert level == channel_level(
            ENTITLED[next(r for r in ROLES[1:] if users[r].email == address)], Channel.EMAIL
        )
        _expect(by_address[address], level)


def test_held_out_reproduction_is_never_rendered(world: World) -> None:
    """reproduction_level 'never' (a held-out benchmark item): not even the vendor sees it."""
    advisory = make_advisory(world, reproduction_level="never")
    for role in ("vendor_a", "triager", "admin"):
        client, headers = _client(world, role, web=False)
        body = client.get(f"/api/v1/advisories/{advisory.advisory_id}", **headers).json()
        assert "reproduction" not in body
        assert "reproduction" in body["withheld"]
        page = _client(world, role, web=True)[0].get(f"/advisories/{advisory.advisory_id}/")
        assert MARKERS["reproduction"] not in page.content.decode()
        assert MARKERS["commitment"] in page.content.decode()


def test_reading_the_reproduction_is_audited(world: World, advisory: Advisory) -> None:
    before = AuditEvent.objects.filter(action="seal.open").count()
    client, headers = _client(world, "vendor_a", web=False)
    client.get(f"/api/v1/advisories/{advisory.advisory_id}", **headers)  # no reason: sealed
    assert AuditEvent.objects.filter(action="seal.open").count() == before
    client.get(f"/api/v1/advisories/{advisory.advisory_id}?reason=triaging+a+fix", **headers)
    opened = AuditEvent.objects.filter(action="seal.open").order_by("-seq").first()
    assert AuditEvent.objects.filter(action="seal.open").count() == before + 1
    assert opened is not None and opened.actor_id == world.users["vendor_a"].pk
    assert advisory.advisory_id in opened.reason and "triaging a fix" in opened.reason
    # Below the vendor level nothing is unsealed.
    client, headers = _client(world, "defender", web=False)
    client.get(f"/api/v1/advisories/{advisory.advisory_id}", **headers)
    assert AuditEvent.objects.filter(action="seal.open").count() == before + 1


def test_a_token_without_read_scope_reads_as_the_public(world: World, advisory: Advisory) -> None:
    client, _ = _client(world, "vendor_a", web=False)
    token = token_for(world.users["vendor_a"], ["submit"])
    body = client.get(
        f"/api/v1/advisories/{advisory.advisory_id}", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert body["disclosure_level"] == "public"


def _fields(body: dict[str, Any]) -> set[str]:
    return set(body) - {"disclosure_level", "withheld", "reproduction_sealed"}


def test_api_fields_are_exactly_the_levels_fields(world: World, advisory: Advisory) -> None:
    from modelcvd.policy.disclosure import fields_at

    for role in ROLES:
        client, headers = _client(world, role, web=False)
        body = client.get(
            f"/api/v1/advisories/{advisory.advisory_id}?reason=field+check", **headers
        ).json()
        level = channel_level(ENTITLED[role], Channel.API)
        assert _fields(body) == set(fields_at(level)), role
