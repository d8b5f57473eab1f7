"""Default callback plan: run-in owners at 3, 6 and 12 months after move-in, ± 15 days."""

from django.db import migrations

DEFAULT_RULES = [("入住3个月回访", 3), ("入住6个月回访", 6), ("入住12个月回访", 12)]


def seed(apps, schema_editor):
    CallbackRule = apps.get_model("surveys", "CallbackRule")
    for name, months in DEFAULT_RULES:
        CallbackRule.objects.get_or_create(months_after_move_in=months, defaults={"name": name, "window_days": 15})


def unseed(apps, schema_editor):
    CallbackRule = apps.get_model("surveys", "CallbackRule")
    CallbackRule.objects.filter(months_after_move_in__in=[m for _, m in DEFAULT_RULES], callbacks__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_feedback_callbacks_benchmarks")]

    operations = [migrations.RunPython(seed, unseed)]
