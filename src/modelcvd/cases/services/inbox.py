"""The inbox's read receipts: opening a case's page marks it seen for that reader."""

from __future__ import annotations

from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case, CaseSeen


def case_seen_mark(*, actor: User, case: Case) -> None:
    """Record that `actor` has seen `case` as it stands now (the caller has checked they may
    see it). Not audited: it records nothing about the case, only the reader's own place."""
    CaseSeen.objects.update_or_create(user=actor, case=case, defaults={"seen_at": timezone.now()})
