"""Follow-up tickets (closing the loop): alert rules over responses, tickets for the responsible port, SLA clock."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("跟进工单")

    def ready(self) -> None:
        from followup import notices
        from followup.receivers import connect

        notices.register()
        connect()
