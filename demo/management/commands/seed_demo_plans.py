from django.core.management.base import BaseCommand

from demo.plans import demo_plans_seed


class Command(BaseCommand):
    help = "写入演示提升计划（需先运行 seed_demo）。Load demo improvement plans in several workflow states."

    def handle(self, *args, **options):
        written = demo_plans_seed()
        if written:
            self.stdout.write(f"demo plans loaded: {written} plans")
        else:
            self.stdout.write("demo plans not loaded: demo users or two surveys missing, or plans already exist")
