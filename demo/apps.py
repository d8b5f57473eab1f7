"""Demo and benchmark data generators (seed_demo, seed_demo_feedback, seed_demo_plans, seed_scale)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = _("演示数据")
