from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from demo.surveys import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "列出演示账号、角色与密码。Print the demo logins."

    def handle(self, *args, **options):
        existing = set(
            User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
        )
        width = max(len(u.username) for u in DEMO_USERS)
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"  {'username'.ljust(width)}  role")
        for user in DEMO_USERS:
            missing = "" if user.username in existing else "  (not created: run seed_demo)"
            self.stdout.write(f"  {user.username.ljust(width)}  {user.description}{missing}")
