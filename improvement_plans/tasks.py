"""Celery tasks of the improvement plans: thin wrappers that call the services."""

from celery import shared_task


@shared_task
def remind_overdue_action_items() -> int:
    """Daily (beat): remind the owners of overdue action items of running plans; returns how many were reminded."""
    from django.utils import timezone

    from improvement_plans.services import action_items_remind_overdue

    return len(action_items_remind_overdue(today=timezone.localdate()))
