import json
import sys

from django.core.management.base import BaseCommand, CommandError

from satisfaction.exports import metric_rows_xlsx
from satisfaction.selectors import metric_rows
from surveys.models import Survey


class Command(BaseCommand):
    help = "导出一次调查的指标行（json 或 xlsx）。Export a survey's metric rows."

    def add_arguments(self, parser):
        parser.add_argument("--survey", required=True, help="survey code")
        parser.add_argument("--format", required=True, choices=["json", "xlsx"])
        parser.add_argument("--output", help="file to write (json defaults to stdout)")

    def handle(self, *args, survey, format, output, **options):
        survey_obj = Survey.objects.filter(code=survey).first()
        if survey_obj is None:
            raise CommandError(f"survey {survey!r} does not exist")
        rows = metric_rows(survey=survey_obj)
        if format == "json":
            text = json.dumps(rows, ensure_ascii=False, indent=2)
            if output:
                try:
                    with open(output, "w", encoding="utf-8") as handle:
                        handle.write(text + "\n")
                except OSError as exc:
                    raise CommandError(f"cannot write {output}: {exc.strerror}") from None
            else:
                sys.stdout.write(text + "\n")
            return
        if not output:
            raise CommandError("--output FILE is required for --format xlsx")
        try:
            with open(output, "wb") as handle:
                handle.write(metric_rows_xlsx(rows))
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        self.stdout.write(f"wrote {len(rows)} rows to {output}")
