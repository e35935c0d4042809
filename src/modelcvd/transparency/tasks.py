"""Thin tasks: sign a tree head (on the beat schedule, and after each publication commits)."""

from __future__ import annotations

from celery import shared_task

from modelcvd.transparency.services import tree_head_sign


@shared_task(acks_late=True)
def tree_head_sign_later() -> int:
    return tree_head_sign().size
