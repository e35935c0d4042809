"""Opening a researcher's real identity (audited); sealing it is accounts.services.identity_set."""

from __future__ import annotations

import json
from typing import Any

from modelcvd.accounts.models import ResearcherIdentity, Role, User
from modelcvd.accounts.selectors import roles_of
from modelcvd.accounts.services import IDENTITY_PURPOSE as PURPOSE
from modelcvd.accounts.services import identity_set
from modelcvd.core.errors import NotFound
from modelcvd.core.services import sealed_open

__all__ = ["PURPOSE", "identity_open", "identity_set"]


def identity_open(*, user: User, actor: User, reason: str) -> dict[str, Any]:
    """The identity, for the researcher or an administrator; anyone else gets 404."""
    if actor.pk != user.pk and Role.ADMIN not in roles_of(actor):
        raise NotFound()
    identity = ResearcherIdentity.objects.select_related("sealed").filter(user=user).first()
    if identity is None:
        raise NotFound()
    data: dict[str, Any] = json.loads(
        sealed_open(blob=identity.sealed, actor=actor, reason=reason, subject=identity)
    )
    return data
