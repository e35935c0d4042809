"""E-mail about case events: the reporters hear that their case moved, an escalation reaches
its recipients. Queued by the case services inside their transaction and sent after commit by
the tasks below, through notifications.mail (plain text).

The mail tasks live here, not in cases.tasks: cases.tasks runs the case services (beat), and
those services queue these mails, so keeping the tasks apart keeps the import graph acyclic
(tasks -> services -> mail). cases.tasks re-exports them for the worker's autodiscovery.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from modelcvd.accounts.models import Membership
from modelcvd.cases.models import Case, Comment, Escalation, TimelineEvent
from modelcvd.notifications.mail import mail_send
from modelcvd.notifications.selectors import mail_recipients
from modelcvd.vocabulary import MailTopic, Role


def timeline_event_notify(*, event_id: int) -> int:
    """Tell the case's reporters that their case moved. Returns the number of mails sent."""
    event = TimelineEvent.objects.select_related("case").filter(pk=event_id).first()
    if event is None or event.kind != TimelineEvent.Kind.TRANSITION:
        return 0
    case = event.case
    recipients = mail_recipients(
        user_ids=case.reports.values_list("reporter_id", flat=True), topic=MailTopic.CASE_MOVES
    )
    body = (
        f"Case #{case.pk} moved from {event.from_state} to {event.to_state}.\n\n"
        f"Reason: {event.reason}\n\n{settings.BASE_URL}/cases/{case.pk}/\n"
    )
    return mail_send(
        recipients=recipients,
        subject=f"[modelcvd] Case #{case.pk}: {event.to_state.replace('_', ' ')}",
        body=body,
    )


def escalation_notify(*, escalation_id: int) -> int:
    """Mail one escalation to its recipients. Plain text; no report content beyond the title."""
    escalation = Escalation.objects.select_related("case").filter(pk=escalation_id).first()
    if escalation is None or not escalation.recipients:
        return 0
    case = escalation.case
    level = Escalation.Level(escalation.level).label.lower()
    body = (
        f"The {escalation.deadline} deadline of case #{case.pk} ({case.title}) was due "
        f"{escalation.due_at:%Y-%m-%d %H:%M} UTC and has not been met.\n\n"
        f"This is escalation level {escalation.level} ({level}).\n\n"
        f"{settings.BASE_URL}/cases/{case.pk}/\n"
    )
    return mail_send(
        recipients=escalation.recipients,
        subject=f"[modelcvd] Case #{case.pk}: {escalation.deadline} deadline breached",
        body=body,
    )


def _members(organisation_ids: list[int], role: Role) -> list[int]:
    return list(
        Membership.objects.filter(organisation_id__in=organisation_ids, role=role).values_list(
            "user_id", flat=True
        )
    )


def vendor_notice_notify(*, case_id: int, organisation_ids: list[int]) -> int:
    """Tell each member of these vendor organisations that they were notified of the case,
    with the link that opens it. Only the title: the details are on the (signed-in) page."""
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return 0
    recipients = mail_recipients(
        user_ids=_members(organisation_ids, Role.VENDOR_MEMBER), topic=MailTopic.VENDOR_NOTICES
    )
    body = (
        f"Your organisation has been notified of case #{case.pk} in the program "
        f"{case.program.name}: {case.title}\n\n"
        f"The coordinators ask you to confirm receipt and to state whether your models are "
        f"affected. Open the case (sign in first):\n{settings.BASE_URL}/cases/{case.pk}/\n\n"
        f"All your organisation's cases: {settings.BASE_URL}/cases/\n"
    )
    return mail_send(
        recipients=recipients,
        subject=f"[modelcvd] Case #{case.pk}: your organisation is notified",
        body=body,
    )


def comment_notify(*, comment_id: int) -> int:
    """Tell the people a comment is shared with (never its author). The mail names the case and
    the author, not the text: comments can quote payloads, and mail is not a sealed channel."""
    comment = (
        Comment.objects.select_related("case__program", "author").filter(pk=comment_id).first()
    )
    if comment is None:
        return 0
    case = comment.case
    people = set(_members([case.program.organisation_id], Role.TRIAGER))
    if comment.visibility == Comment.Visibility.VENDOR:
        people |= set(
            _members(
                list(case.vendor_parties.values_list("organisation_id", flat=True)),
                Role.VENDOR_MEMBER,
            )
        )
    elif comment.visibility == Comment.Visibility.REPORTER:
        if comment.channel_reporter_id is not None:
            people.add(comment.channel_reporter_id)
        else:
            people |= set(case.reports.values_list("reporter_id", flat=True))
    people.discard(comment.author_id)
    recipients = mail_recipients(user_ids=people, topic=MailTopic.COMMENTS)
    body = (
        f"{comment.author.public_name} commented on case #{case.pk} ({case.title}), "
        f"{Comment.Visibility(comment.visibility).label.lower()}.\n\n"
        f"Read and answer it on the case page (comments are not sent by e-mail):\n"
        f"{settings.BASE_URL}/cases/{case.pk}/#comments\n"
    )
    return mail_send(
        recipients=recipients, subject=f"[modelcvd] Case #{case.pk}: new comment", body=body
    )


@shared_task(acks_late=True)
def notify_vendor_notice(case_id: int, organisation_ids: list[int]) -> int:
    return vendor_notice_notify(case_id=case_id, organisation_ids=organisation_ids)


@shared_task(acks_late=True)
def notify_comment(comment_id: int) -> int:
    return comment_notify(comment_id=comment_id)


@shared_task(acks_late=True)
def notify_timeline_event(event_id: int) -> int:
    return timeline_event_notify(event_id=event_id)


@shared_task(acks_late=True)
def notify_escalation(escalation_id: int) -> int:
    return escalation_notify(escalation_id=escalation_id)


def timeline_event_mail(*, event_id: int) -> None:
    """Mail the case's reporters about this timeline event once the transaction commits."""
    transaction.on_commit(lambda: notify_timeline_event.delay(event_id))


def escalation_mail(*, escalation_id: int) -> None:
    """Mail this escalation to its recipients once the transaction commits."""
    transaction.on_commit(lambda: notify_escalation.delay(escalation_id))


def vendor_notice_mail(*, case_id: int, organisation_ids: list[int]) -> None:
    """Mail the members of newly notified vendor organisations once the transaction commits."""
    if organisation_ids:
        ids = list(organisation_ids)
        transaction.on_commit(lambda: notify_vendor_notice.delay(case_id, ids))


def comment_mail(*, comment_id: int) -> None:
    """Mail the people a comment is shared with once the transaction commits."""
    transaction.on_commit(lambda: notify_comment.delay(comment_id))
