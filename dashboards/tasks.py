"""Celery tasks of the readers: thin, they call the domain functions."""

from celery import shared_task
from django.utils import timezone

from dashboards.todo import todo_digest_send


@shared_task
def todo_digest_task() -> int:
    now = timezone.now()
    return todo_digest_send(today=timezone.localdate(now), now=now)
