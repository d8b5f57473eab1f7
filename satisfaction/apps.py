from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = _("满意度指标")

    def ready(self):
        from satisfaction.receivers import recompute_when_responses_change
        from surveys.events import responses_changed

        responses_changed.connect(recompute_when_responses_change, dispatch_uid="satisfaction.recompute")
