from django.core.management.base import BaseCommand, CommandError

from surveys.models import Survey
from surveys.services import survey_close, survey_reopen


class Command(BaseCommand):
    help = (
        "关闭一次调查（不再接受新的或修改的答卷），或用 --reopen 重新开放。"
        "Close a survey wave to every write path, or reopen it."
    )

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--reopen", action="store_true", help="open the wave again")

    def handle(self, *args, code, reopen, **options):
        survey = Survey.objects.filter(code=code).first()
        if survey is None:
            raise CommandError(f"unknown survey {code!r} (调查编码不存在)")
        if reopen:
            survey_reopen(survey=survey)
            self.stdout.write(f"reopened survey {survey.code}")
        else:
            survey = survey_close(survey=survey)
            self.stdout.write(f"closed survey {survey.code} at {survey.closed_at.isoformat()}")
