from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = _("满意度指标")

    def ready(self):
        from satisfaction import auth_events  # noqa: F401 - connects the authentication-event receivers
        from satisfaction.logging import install_record_factory

        install_record_factory()
