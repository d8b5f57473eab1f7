"""The readers: home page, company overview, port dashboards and project score cards, all from snapshots."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("看板")

    def ready(self):
        from dashboards import receivers, todo

        receivers.connect()
        todo.register_notices()
