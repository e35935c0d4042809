"""Issue 14, point 5: an advisory whose case credits a sponsor (and a tool) exports in all
four formats, through the services and the renderer, each valid against its official schema.
Before the one vocabulary, the export model knew `other` instead of `sponsor` and refused it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelcvd.advisories.render import advisory_export
from modelcvd.credits.services import credit_grant
from modelcvd.vocabulary import CreditType
from tests.advisories.helpers import CNA_ORG_ID, make_advisory
from tests.advisories.test_import_export import _validate
from tests.factories import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["cve5", "osv", "csaf", "avid"])
def test_sponsor_credit_exports_in_every_format(world: World, fmt: str, settings: Any) -> None:
    # This instance as a CNA with a CVE id of its own, so cve5 writes a record too.
    settings.CVE_CNA_ORG_ID, settings.CVE_CNA_SHORT_NAME = CNA_ORG_ID, "modelcvd-test"
    triager = world.users["triager"]
    case_id = world.cases["a"].pk
    credit_grant(
        actor=triager, case_id=case_id, credit_type=CreditType.SPONSOR, name="Kestrel Fund"
    )
    credit_grant(actor=triager, case_id=case_id, credit_type="tool", name="garak")
    advisory = make_advisory(world, cve_id="CVE-2026-40001")
    document = json.loads(json.dumps(advisory_export(advisory=advisory, actor=triager, fmt=fmt)))
    assert _validate(document, fmt) == []
    text = json.dumps(document)
    assert "Kestrel Fund" in text and "garak" in text
    if fmt == "osv":
        assert {"name": "Kestrel Fund", "type": "SPONSOR"} in document["credits"]
    if fmt == "cve5":
        credits = document["containers"]["cna"]["credits"]
        assert {"lang": "en", "value": "Kestrel Fund", "type": "sponsor"} in credits
