"""Report packs (PDF) and the monthly digests that carry them."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报告")

    def ready(self) -> None:
        from core.notifications import notification_kind_register
        from reports.digests import DIGEST_KIND

        notification_kind_register(
            DIGEST_KIND, _("月度满意度摘要"), _("每月一封：管理层收到公司指标、待审批计划与逾期问题；部门负责人收到所负责端口的指标；附报告包 PDF")
        )
