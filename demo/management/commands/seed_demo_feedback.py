from django.core.management.base import BaseCommand, CommandError

from demo.feedback import demo_feedback_present, demo_feedback_seed


class Command(BaseCommand):
    help = "写入演示客户反馈、回访记录和一份外部调查报告（需先运行 seed_demo）。Load the demo research-base data."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any feedback exists")

    def handle(self, *args, if_empty, **options):
        if demo_feedback_present():
            if if_empty:
                self.stdout.write("feedback already exists: demo feedback not loaded")
                return
            raise CommandError("客户反馈已存在，未写入演示数据（没有反馈记录时才能加载）")
        counts = demo_feedback_seed()
        if not counts["projects"]:
            self.stdout.write("demo feedback not loaded: no demo projects (run seed_demo first)")
            return
        self.stdout.write(
            f"demo feedback loaded: {counts['feedback']} feedback records, {counts['callbacks']} callbacks, "
            f"{counts['benchmarks']} external report(s) for {counts['projects']} projects"
        )
