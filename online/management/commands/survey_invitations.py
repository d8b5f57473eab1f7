import csv

from django.core.management.base import BaseCommand, CommandError

from core.spreadsheets.writing import safe_cell
from online.exports import CSV_COLUMNS, invitation_rows
from owners.models import Project
from surveys.models import Survey


class Command(BaseCommand):
    help = (
        "为尚未答卷的业主生成（或沿用）个人答卷链接并写入 CSV。"
        "Write one personal answering link per owner who has not answered the survey yet (project_code, unit, "
        "owner_name, url); an owner's existing live link is reused. Base URL from SITE_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--survey", required=True, help="survey code")
        parser.add_argument("--project", help="project code (default: every project of the survey)")
        parser.add_argument("--output", required=True, help="CSV file to write")

    def handle(self, *args, survey, project, output, **options):
        wave = Survey.objects.filter(code=survey).first()
        if wave is None:
            raise CommandError(f"unknown survey {survey!r} (调查编码不存在)")
        chosen = None
        if project:
            chosen = Project.objects.filter(code=project).first()
            if chosen is None:
                raise CommandError(f"unknown project {project!r} (楼盘编码不存在)")
        if wave.is_closed:
            raise CommandError(f"survey {wave.code} is closed (调查已关闭，不能生成答卷链接)")
        rows = invitation_rows(survey=wave, project=chosen, issue=True)
        with open(output, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            writer.writerows([safe_cell(value) for value in row] for row in rows)
        self.stdout.write(f"wrote {len(rows)} invitation(s) to {output}")
