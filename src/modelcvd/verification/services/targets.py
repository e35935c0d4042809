"""Writes of the target registry: an organisation registers the models it lets the platform
test (endpoints with a sealed credential, local directories by digest), offers them to
programs, and retires them. The credential is sealed for its target row and never returned:
only a worker opens it (`target_credential_open`, audited) to call the endpoint."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from modelcvd.accounts.models import Organisation, User
from modelcvd.artifacts.digest import DigestError, model_manifest
from modelcvd.artifacts.models import Artifact
from modelcvd.core import egress
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.sealing import create_sealed
from modelcvd.core.services import sealed_open
from modelcvd.policy.models import Program
from modelcvd.verification.access import may_register_target
from modelcvd.verification.models import Target

CREDENTIAL_PURPOSE = "verification.target_credential"
MAX_CONCURRENCY = 64


def _organisation_for(actor: User, slug: str) -> Organisation:
    """The organisation `actor` registers for (one they act for); else 422 naming the field."""
    org = Organisation.objects.filter(slug=slug).first()
    if org is None or not may_register_target(
        actor, org.pk, vendor=org.kind == Organisation.Kind.VENDOR
    ):
        raise InvalidInput([FieldError("organisation", "not an organisation you act for")])
    return org


def _local_dir(value: str) -> Path:
    try:
        path = Path(value).resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a loop of links
        raise InvalidInput([FieldError("local_dir", "not a usable path")]) from exc
    roots = [Path(root).resolve() for root in settings.MODEL_DIRS]
    if not any(path == root or root in path.parents for root in roots):
        raise InvalidInput(
            [FieldError("local_dir", "the directory must lie under MODELCVD_MODEL_DIRS")]
        )
    if not path.is_dir():
        raise InvalidInput([FieldError("local_dir", "no such directory")])
    return path


def target_register(
    *,
    actor: User,
    organisation: str,
    name: str,
    kind: str,
    artifact_id: int,
    url: str = "",
    model_name: str = "",
    api_key: str = "",
    local_dir: str = "",
    requests_per_minute: int | None = None,
    max_concurrency: int = 4,
) -> Target:
    """Register a target for `organisation` (by slug), pinned to an artifact the actor sees (a
    vendor's, to one of its own). 422 naming the field for anything wrong."""
    org = _organisation_for(actor, organisation)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput([FieldError("name", "between 1 and 200 characters")])
    if Target.objects.filter(organisation=org, name=name).exists():
        raise InvalidInput([FieldError("name", "this organisation has a target of that name")])
    if kind not in Target.Kind.values:
        raise InvalidInput([FieldError("kind", f"one of {list(Target.Kind.values)}")])
    if not 1 <= max_concurrency <= MAX_CONCURRENCY:
        raise InvalidInput([FieldError("max_concurrency", f"between 1 and {MAX_CONCURRENCY}")])
    if requests_per_minute is not None and requests_per_minute < 1:
        raise InvalidInput([FieldError("requests_per_minute", "at least 1, or unset")])
    artifacts = Artifact.objects.restrict(actor, "view")
    if org.kind == Organisation.Kind.VENDOR:
        # A vendor offers targets for its own models only.
        artifacts = artifacts.filter(vendor=org)
    artifact = artifacts.filter(pk=artifact_id).first()
    if artifact is None:
        raise InvalidInput([FieldError("artifact_id", "no artifact of yours with this id")])
    values: dict[str, object] = {
        "organisation": org,
        "name": name,
        "kind": kind,
        "artifact": artifact,
        "requests_per_minute": requests_per_minute,
        "max_concurrency": max_concurrency,
        "registered_by": actor,
    }
    if kind == Target.Kind.ENDPOINT:
        url, model_name = url.strip(), model_name.strip()
        if not url.startswith(("http://", "https://")) or len(url) > 500 or "#" in url:
            raise InvalidInput([FieldError("url", "an http(s) URL, at most 500 characters")])
        if (problem := egress.url_problem(url)) is not None:
            raise InvalidInput(
                [
                    FieldError(
                        "url",
                        f"the endpoint is refused: {problem} (internal endpoints must be "
                        "listed in MODELCVD_EGRESS_ALLOW)",
                    )
                ]
            )
        if not model_name or len(model_name) > 200:
            raise InvalidInput([FieldError("model_name", "between 1 and 200 characters")])
        if len(api_key) > 4000:
            raise InvalidInput([FieldError("api_key", "at most 4000 characters")])
        values |= {"url": url, "model_name": model_name}
    else:
        if url or model_name or api_key:
            raise InvalidInput([FieldError("kind", "a local target takes no URL or credential")])
        path = _local_dir(local_dir)
        try:
            manifest = model_manifest(path)
        except (DigestError, OSError) as exc:
            raise InvalidInput([FieldError("local_dir", "cannot digest this directory")]) from exc
        if artifact.weights_digest and artifact.weights_digest != manifest.weights_digest:
            raise InvalidInput(
                [FieldError("local_dir", "these weights are not the pinned artifact's")]
            )
        values |= {"local_dir": str(path), "digest": manifest.digest}
    with transaction.atomic():
        if api_key:
            target = create_sealed(
                Target,
                values=values,
                field="credential",
                plaintext=api_key.encode(),
                purpose=CREDENTIAL_PURPOSE,
            )
        else:
            target = Target.objects.create(**values)
        audit_record(
            actor=actor,
            action="verification.target_register",
            obj=target,
            data={
                "organisation": org.slug,
                "kind": kind,
                "artifact": artifact.pk,
                "credential": bool(api_key),
            },
        )
    return target


def target_offer(*, actor: User, target_id: int, program: str, offered: bool = True) -> Target:
    """Offer a target to a program's coordinators (or withdraw the offer): they may then run
    that program's cases on it. Members of the target's organisation only."""
    with transaction.atomic():
        target = Target.objects.get_for(
            actor=actor,
            action="manage",
            forbidden="only the target's organisation offers it",
            pk=target_id,
            lock=True,
        )
        found = Program.objects.filter(slug=program).first()
        if found is None:
            raise InvalidInput([FieldError("program", "no program with this slug")])
        if offered:
            target.offered_to.add(found)
        else:
            target.offered_to.remove(found)
        audit_record(
            actor=actor,
            action="verification.target_offer" if offered else "verification.target_withdraw",
            obj=target,
            data={"program": found.slug},
        )
    return target


def target_retire(*, actor: User, target_id: int) -> Target:
    """Stop new runs on a target (past runs keep it)."""
    with transaction.atomic():
        target = Target.objects.get_for(
            actor=actor,
            action="manage",
            forbidden="only the target's organisation retires it",
            pk=target_id,
            lock=True,
        )
        target.active = False
        target.save(update_fields=["active"])
        audit_record(actor=actor, action="verification.target_retire", obj=target)
    return target


def target_credential_open(*, target: Target, run_id: int) -> str | None:
    """The target's credential for a worker calling it on run `run_id` (audited as a seal
    read by the platform); None when it has none."""
    if target.credential_id is None:
        return None
    blob = target.credential
    if blob is None:  # pragma: no cover - the column and the row agree
        raise NotFound()
    return sealed_open(
        blob=blob, actor=None, reason=f"verification run #{run_id}", subject=target
    ).decode()
