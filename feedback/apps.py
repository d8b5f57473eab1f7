"""Research bases (procedure §5.2): feedback records, callbacks, external reports and per-port evidence."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("客户反馈与回访")
