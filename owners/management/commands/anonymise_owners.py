"""anonymise_owners [--dry-run]: anonymise owners whose last response or update is older than OWNER_RETENTION_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from owners.privacy import owners_anonymise


class Command(BaseCommand):
    help = "匿名化超过保存期限（OWNER_RETENTION_DAYS）的业主：姓名改为“业主#编号”，清空电话，保留变更历史。"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只列出将被匿名化的业主数量，不写入。")
        parser.add_argument("--retention-days", type=int, default=None, help="覆盖 OWNER_RETENTION_DAYS。")

    def handle(self, *args, dry_run: bool, retention_days: int | None, **options):
        days = retention_days if retention_days is not None else settings.OWNER_RETENTION_DAYS
        ids = owners_anonymise(now=timezone.now(), retention_days=days, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"将匿名化 {len(ids)} 位业主（保存期限 {days} 天）；未写入。")
        else:
            self.stdout.write(self.style.SUCCESS(f"已匿名化 {len(ids)} 位业主（保存期限 {days} 天）。"))
