from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.importer import responses_import
from surveys.models import Survey


class Command(BaseCommand):
    help = (
        "导入调查公司的问卷文件（xlsx/xls/csv），全部正确才写入。"
        "Import a survey firm's file; exit 1 with every error and nothing written if any row is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--survey", required=True, help="survey code")

    def handle(self, *args, file, survey, **options):
        try:
            target = Survey.objects.get(code=survey)
        except Survey.DoesNotExist:
            raise CommandError(f"unknown survey {survey!r} (调查编码不存在)") from None
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"file not found: {file} (文件不存在)") from None
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror} (文件无法读取)") from None
        result = responses_import(survey=target, data=data, file_name=path.name)
        if result.refused:
            raise CommandError(f"{path.name}: " + "; ".join(issue.reason for issue in result.errors))
        if not result.ok:
            for issue in result.errors:
                self.stdout.write(issue.as_line())
            raise CommandError(f"{len(result.errors)} error(s) in {path.name}; nothing was written (未写入任何数据)")
        self.stdout.write(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}")
