"""Celery tasks of online answering: the beat's reminder run and the delivery of queued messages (thin)."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_messages() -> dict:
    """Queue the reminders due now and send every queued message whose time has come (none at night).

    Safe to run twice at once or again after a lost worker: each message is claimed by a conditional update.
    """
    from django.utils import timezone

    from online.messaging import anonymised_contacts_scrub, messages_deliver
    from online.reminders import reminders_queue

    now = timezone.now()
    anonymised_contacts_scrub()
    queued = reminders_queue(now=now)
    return {"reminders_queued": queued, **messages_deliver(now=now)}
