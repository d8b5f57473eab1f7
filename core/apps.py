"""The shared kernel: middleware, logging and phone masking, auth events, API plumbing, spreadsheet reading."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("公共组件")

    def ready(self):
        # Imported for their side effects: the authentication-event receivers and the deployment checks.
        from core import auth_events, checks  # noqa: F401
        from core.logging import install_record_factory

        install_record_factory()
