from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("调查与问卷")

    def ready(self) -> None:
        from surveys.importing.jobs import register_survey_imports

        register_survey_imports()
