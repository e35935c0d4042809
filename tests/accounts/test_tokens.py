"""API tokens (issue 15.5): the token page where a person makes, sees and revokes their own
tokens; the access rule that keeps everyone else's out of sight; revoked and expired tokens
never authenticating; and the operator's `modelcvd token list|revoke`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from modelcvd.accounts.access import api_tokens
from modelcvd.accounts.models import ApiToken
from modelcvd.accounts.selectors import token_get_for
from modelcvd.accounts.services import token_create, token_digest, token_revoke
from modelcvd.cli import main
from modelcvd.core.errors import NotFound
from modelcvd.core.models import AuditEvent
from tests.factories import World, sign_in

PAGE = "/account/tokens/"


def _browser(world: World, role: str) -> Client:
    client = sign_in(Client(enforce_csrf_checks=True), world.users[role])
    client.get(PAGE)  # sets the CSRF cookie, as the page itself does
    return client


def _post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(
        url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )


def _api_me(secret: str) -> Any:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_page_makes_a_token_and_shows_its_secret_once(world: World) -> None:
    client = _browser(world, "researcher_a")
    made = _post(client, PAGE, {"name": "my script", "scopes": ["read", "submit"], "days": "30"})
    assert made.status_code == 201
    assert "no-store" in made["Cache-Control"]  # the secret's page is never cached
    secret = re.search(rb'id="token-secret">(mcvd_[^<]+)<', made.content)
    assert secret is not None
    secret_text = secret.group(1).decode()
    token = ApiToken.objects.get(user=world.users["researcher_a"])
    assert token.token_hash == token_digest(secret_text) and secret_text not in token.token_hash
    assert token.scopes == ["read", "submit"] and token.name == "my script"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert AuditEvent.objects.filter(action="token.create", object_id=str(token.pk)).exists()
    # It works, and the page now shows when it was last used; the secret is never shown again.
    assert _api_me(secret_text).json()["username"] == "researcher_a"
    again = client.get(PAGE)
    assert secret_text.encode() not in again.content
    assert token.prefix.encode() in again.content
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.localtime(token.last_used_at).strftime("%Y-%m-%d %H:%M").encode() in (
        again.content
    )


def test_the_page_lists_only_my_own_tokens(world: World) -> None:
    mine, _ = token_create(user=world.users["researcher_a"], scopes=["read"], name="mine")
    theirs, _ = token_create(user=world.users["researcher_b"], scopes=["read"], name="theirs")
    for role in ("researcher_a", "admin"):
        page = _browser(world, role).get(PAGE).content
        assert (mine.prefix.encode() in page) == (role == "researcher_a")
        assert theirs.prefix.encode() not in page


def test_a_person_revokes_their_own_token_and_it_stops_working(world: World) -> None:
    token, secret = token_create(user=world.users["researcher_a"], scopes=["read"])
    assert _api_me(secret).status_code == 200
    client = _browser(world, "researcher_a")
    revoked = _post(client, f"{PAGE}{token.pk}/revoke/")
    assert revoked.status_code == 302 and revoked["Location"] == PAGE
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api_me(secret).status_code == 401
    page = client.get(PAGE).content.decode()
    assert "revoked" in page and f"{PAGE}{token.pk}/revoke/" not in page
    events = AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk))
    assert [e.actor_label for e in events] == ["researcher_a"]


def test_nobody_sees_or_revokes_another_persons_token(world: World) -> None:
    token, secret = token_create(user=world.users["researcher_a"], scopes=["read"])
    for role in ("researcher_b", "vendor_a", "triager", "admin"):
        response = _post(_browser(world, role), f"{PAGE}{token.pk}/revoke/")
        missing = _post(_browser(world, role), f"{PAGE}999999/revoke/")
        assert response.status_code == 404 == missing.status_code, role
        assert response.content == missing.content
    token.refresh_from_db()
    assert token.revoked_at is None and _api_me(secret).status_code == 200


def test_the_token_rule_agrees_with_itself_for_everyone(world: World) -> None:
    tokens = [
        token_create(user=world.users[role], scopes=["read"])[0]
        for role in ("researcher_a", "triager", "admin")
    ]
    for actor in [AnonymousUser(), *world.users.values()]:
        for action in ("view", "revoke"):
            listed = set(api_tokens().restrict(actor, action).values_list("pk", flat=True))
            for token in tokens:
                own = actor.is_authenticated and token.user_id == actor.pk
                assert (token.pk in listed) == own == api_tokens().allows(actor, token, action)
                if actor.is_authenticated:
                    try:
                        fetched = token_get_for(actor=actor, token_id=token.pk, action=action)
                    except NotFound:
                        fetched = None
                    assert (fetched == token) == own


def test_the_form_needs_a_scope_and_a_csrf_token(world: World) -> None:
    client = _browser(world, "researcher_a")
    invalid = _post(client, PAGE, {"name": "none", "days": "30"})
    assert invalid.status_code == 422 and b"This field is required" in invalid.content
    forged = client.post(PAGE, {"scopes": ["admin"], "days": "365"})  # no CSRF token
    assert forged.status_code == 403
    longer = _post(client, PAGE, {"scopes": ["read"], "days": "3650"})  # not offered
    assert longer.status_code == 422
    assert not ApiToken.objects.filter(user=world.users["researcher_a"]).exists()


def test_revoked_and_expired_tokens_never_authenticate(world: World) -> None:
    expired, expired_secret = token_create(user=world.users["triager"], scopes=["read"])
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_secret = token_create(user=world.users["triager"], scopes=["read"])
    token_revoke(token=revoked, actor=world.users["triager"])
    for secret in (expired_secret, revoked_secret):
        assert _api_me(secret).status_code == 401
        post = Client().post(
            f"/api/v1/cases/{world.cases['a'].pk}/comments",
            data=json.dumps({"body": "x", "visibility": "internal"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert post.status_code == 401


def test_revoking_twice_keeps_the_first_revocation(world: World) -> None:
    token, _ = token_create(user=world.users["researcher_a"], scopes=["read"])
    first = token_revoke(token=token, actor=world.users["researcher_a"]).revoked_at
    again = token_revoke(token=token, actor=world.users["researcher_a"]).revoked_at
    assert first == again
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1


def test_the_account_menu_links_the_token_page(world: World) -> None:
    page = sign_in(Client(), world.users["vendor_a"]).get("/").content.decode()
    assert f'href="{PAGE}"' in page


# The operator's commands.


def test_token_list_shows_prefix_owner_scopes_expiry_last_use_and_state(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    used, used_secret = token_create(user=world.users["researcher_a"], scopes=["read", "submit"])
    _api_me(used_secret)
    gone, _ = token_create(user=world.users["triager"], scopes=["triage"], name="ci")
    token_revoke(token=gone, actor=None)
    assert main(["token", "list", "--json"]) == 0
    rows = {r["prefix"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[used.prefix]["user"] == "researcher_a"
    assert rows[used.prefix]["scopes"] == ["read", "submit"]
    assert rows[used.prefix]["state"] == "active" and rows[used.prefix]["last_used_at"]
    assert rows[used.prefix]["expires_at"]
    assert rows[gone.prefix]["state"] == "revoked" and rows[gone.prefix]["name"] == "ci"
    assert used_secret not in json.dumps(rows)
    assert main(["token", "list", "--user", "triager"]) == 0
    text = capsys.readouterr().out
    assert gone.prefix in text and used.prefix not in text and "revoked" in text
    assert main(["token", "list", "--user", "ghost"]) == 3


def test_token_revoke_by_prefix(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    token, secret = token_create(user=world.users["vendor_a"], scopes=["read"])
    assert main(["token", "revoke", token.prefix]) == 0
    assert capsys.readouterr().out.strip() == f"token {token.prefix} of vendor_a revoked"
    assert _api_me(secret).status_code == 401
    event = AuditEvent.objects.get(action="token.revoke", object_id=str(token.pk))
    assert event.actor_label == "system" and event.data["user"] == "vendor_a"
    assert main(["token", "revoke", token.prefix]) == 0
    assert "revoked already" in capsys.readouterr().out
    assert main(["token", "revoke", "mcvd_nope0"]) == 3
    assert "no token with prefix 'mcvd_nope0'" in capsys.readouterr().err


def test_token_revoke_asks_for_the_owner_when_a_prefix_is_shared(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = token_create(user=world.users["researcher_a"], scopes=["read"])
    b, _ = token_create(user=world.users["researcher_b"], scopes=["read"])
    ApiToken.objects.filter(pk=b.pk).update(prefix=a.prefix)
    assert main(["token", "revoke", a.prefix]) == 2
    assert "name the owner with --user" in capsys.readouterr().err
    assert main(["token", "revoke", a.prefix, "--user", "researcher_b"]) == 0
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.revoked_at is None and b.revoked_at is not None
