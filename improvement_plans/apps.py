from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementPlansConfig(AppConfig):
    name = "improvement_plans"
    verbose_name = _("提升计划")

    def ready(self):
        from core.notifications import notification_kind_register
        from improvement_plans.emails import ACTION_ITEM_OVERDUE, PLAN_ITEM_ADDED, PLAN_TRANSITION

        notification_kind_register(
            PLAN_TRANSITION, _("提升计划的提交、批准与退回"), _("管理层：有计划待审批；提交人：计划被批准或退回")
        )
        notification_kind_register(
            PLAN_ITEM_ADDED, _("执行中的计划新增行动项"), _("管理层：已批准或执行中的计划新增改善项目或研究课题")
        )
        notification_kind_register(
            ACTION_ITEM_OVERDUE, _("行动项逾期提醒"), _("行动项责任部门负责人：负责的行动项过了完成期限（每周提醒一次）")
        )
