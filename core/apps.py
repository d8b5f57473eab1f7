"""The shared kernel: middleware, logging and phone masking, auth events, API plumbing, spreadsheet reading."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("公共组件")

    def ready(self):
        from core import auth_events  # noqa: F401 - connects the authentication-event receivers
        from core.logging import install_record_factory

        install_record_factory()
