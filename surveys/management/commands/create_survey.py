from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.models import Survey
from surveys.services import survey_create


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"invalid date {value!r}: use YYYY-MM-DD (日期格式应为 YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "创建一次调查（含问卷题目）。Create a survey wave with a questionnaire's questions: "
        "--series defaults to the source, --starts/--ends set the fieldwork period."
    )

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--source", default=None, choices=Survey.Source.values, help="default: the series' source, else company")
        parser.add_argument("--series", default=None, help="series code (default: the source)")
        parser.add_argument("--starts", default=None, help="YYYY-MM-DD, first day of fieldwork")
        parser.add_argument("--ends", default=None, help="YYYY-MM-DD, last day of fieldwork")
        parser.add_argument("--questionnaire", default="standard", help="questionnaire code (its newest version)")
        parser.add_argument("--weighting", default=Survey.Weighting.NONE, choices=Survey.Weighting.values)

    def handle(self, *args, code, name, source, series, starts, ends, questionnaire, weighting, **options):
        try:
            survey = survey_create(
                code=code,
                name=name,
                source=source,
                series=series,
                questionnaire=questionnaire,
                starts_on=_date(starts) if starts else None,
                ends_on=_date(ends) if ends else None,
                weighting=weighting,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"created survey {survey.code} (series {survey.series.code}, questionnaire "
            f"{survey.questionnaire.code} v{survey.questionnaire.version}) with {survey.questions.count()} questions"
        )
