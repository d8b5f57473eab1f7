from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.models import Survey
from surveys.questionnaires import QUESTIONNAIRES
from surveys.services import survey_create


class Command(BaseCommand):
    help = "创建一次调查（含标准问卷题目）。Create a survey wave with a questionnaire's questions."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--source", default=Survey.Source.COMPANY, choices=Survey.Source.values)
        parser.add_argument("--questionnaire", default="standard", choices=sorted(QUESTIONNAIRES))

    def handle(self, *args, code, name, source, questionnaire, **options):
        try:
            survey = survey_create(code=code, name=name, source=source, questionnaire=questionnaire)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"created survey {survey.code} with {survey.questions.count()} questions")
