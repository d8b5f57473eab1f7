"""Research bases (procedure §5.2): feedback records, callbacks, external reports and per-port evidence."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("客户反馈与回访")

    def ready(self) -> None:
        from feedback.importing import feedback_import_job_run
        from surveys.importing.jobs import import_kind_register
        from surveys.models import ImportJob

        import_kind_register(
            ImportJob.Kind.FEEDBACK,
            run=feedback_import_job_run,
            upload_url="feedback:import",
            upload_label=_("导入客户反馈"),
        )
