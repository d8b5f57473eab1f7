from django.core.management.base import BaseCommand, CommandError

from demo.surveys import DEMO_PASSWORD, demo_data_present, demo_seed


class Command(BaseCommand):
    help = "写入演示数据（楼盘、业主、三个系列的调查及开放意见、演示账号）并计算指标。Load the demo data set."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any survey exists")

    def handle(self, *args, if_empty, **options):
        if demo_data_present():
            if if_empty:
                self.stdout.write("surveys already exist: demo data not loaded")
                return
            raise CommandError("调查数据已存在，未写入演示数据（空数据库才能加载演示数据）")
        counts = demo_seed()
        self.stdout.write(
            f"demo data loaded: {counts['projects']} projects, {counts['owners']} owners, "
            f"{counts['responses']} responses in {counts['surveys']} surveys of {counts['series']} series, "
            f"{counts['comments']} open comments ({counts['tickets']} alert tickets), "
            f"{counts['users']} users (password {DEMO_PASSWORD})"
        )
