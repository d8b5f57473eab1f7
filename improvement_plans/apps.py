from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementPlansConfig(AppConfig):
    name = "improvement_plans"
    verbose_name = _("提升计划")
