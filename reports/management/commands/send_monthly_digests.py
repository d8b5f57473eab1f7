"""Send the monthly digests now (what the beat's daily run does): each user due one gets it once per month."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from reports.digests import digest_period, digests_send


class Command(BaseCommand):
    help = "发送上月的月度满意度摘要（每人每月一次；已发送或已退订的不再发送）。"

    def handle(self, *args, **options):
        now = timezone.now()
        sent = digests_send(now=now)
        self.stdout.write(f"monthly digest {digest_period(timezone.localdate(now))}: {sent} sent")
