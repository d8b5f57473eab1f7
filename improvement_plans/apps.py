from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementPlansConfig(AppConfig):
    name = "improvement_plans"
    verbose_name = _("提升计划")

    def ready(self):
        from core.notifications import notification_kind_register
        from improvement_plans.emails import PLAN_TRANSITION

        notification_kind_register(
            PLAN_TRANSITION, _("提升计划的提交、批准与退回"), _("管理层：有计划待审批；提交人：计划被批准或退回")
        )
