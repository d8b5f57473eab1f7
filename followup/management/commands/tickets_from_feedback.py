"""Open a ticket for every feedback record that is not closed and has none (records kept before tickets existed)."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from feedback.models import Feedback, FeedbackStatus
from followup.services import tickets_sync_feedback


class Command(BaseCommand):
    help = "为尚未关闭且没有工单的客户反馈建立跟进工单（可重复运行，不会重复建立）"

    def handle(self, *args, **options):
        ids = list(
            Feedback.objects.exclude(status=FeedbackStatus.CLOSED).filter(ticket__isnull=True)
            .order_by("id").values_list("id", flat=True)
        )
        opened = 0
        for start in range(0, len(ids), 500):  # one transaction and one notice per 500 records
            with transaction.atomic():
                opened += len(tickets_sync_feedback(feedback_ids=ids[start:start + 500], now=timezone.now()))
        self.stdout.write(f"opened {opened} tickets")
