"""Accounts: argon2 passwords, role/organisation rules, tokens stored as hashes, audit."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.test import override_settings

from modelcvd.accounts.models import ApiToken, Organisation, Role
from modelcvd.accounts.services import (
    membership_grant,
    membership_revoke,
    token_create,
    token_revoke,
)
from modelcvd.core.errors import InvalidInput
from modelcvd.core.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_production_hasher_is_argon2() -> None:
    # The suite swaps in a fast hasher; the configured one is checked here.
    from modelcvd import settings as configured

    assert configured.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=configured.PASSWORD_HASHERS):
        user = make_user("argon")
        assert identify_hasher(user.password).algorithm == "argon2"
        assert get_hasher().algorithm == "argon2"
    assert settings.AUTH_USER_MODEL == "core.User"


def test_roles_that_act_for_an_organisation_need_one() -> None:
    user = make_user("u")
    org = Organisation.objects.create(name="V", slug="v", kind="vendor")
    with pytest.raises(InvalidInput, match="invalid input") as info:
        membership_grant(user=user, role=Role.VENDOR_MEMBER, organisation=None, actor=None)
    assert info.value.errors[0].field == "organisation"
    with pytest.raises(InvalidInput):
        membership_grant(user=user, role=Role.RESEARCHER, organisation=org, actor=None)
    membership = membership_grant(user=user, role=Role.VENDOR_MEMBER, organisation=org, actor=None)
    assert (
        membership_grant(user=user, role=Role.VENDOR_MEMBER, organisation=org, actor=None)
        == membership
    )
    membership_revoke(membership=membership, actor=None)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("membership.grant") == 1 and "membership.revoke" in actions


def test_tokens_are_stored_as_hashes_scoped_and_revocable() -> None:
    user = make_user("t")
    token, secret = token_create(user=user, scopes=["read"])
    assert secret not in {token.token_hash, token.prefix} and len(secret) > 40
    assert token.expires_at is not None
    with pytest.raises(InvalidInput):
        token_create(user=user, scopes=["root"])
    with pytest.raises(InvalidInput):
        token_create(user=user, scopes=[])
    token_revoke(token=token, actor=user)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert list(
        AuditEvent.objects.filter(object_type="accounts.apitoken").values_list("action", flat=True)
    ) == [
        "token.create",
        "token.revoke",
    ]
