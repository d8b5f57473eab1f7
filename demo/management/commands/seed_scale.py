import time

from django.core.management.base import BaseCommand, CommandError

from demo.scale import scale_seed


class Command(BaseCommand):
    help = "生成大规模测试调查（PostgreSQL 上用 COPY）。Seed a large synthetic survey for benchmarks and fault drills."

    def add_arguments(self, parser):
        parser.add_argument("--survey", required=True, help="survey code (created with the standard questionnaire if missing)")
        parser.add_argument("--responses", type=int, default=1_000_000)
        parser.add_argument("--projects", type=int, default=20)
        parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
        parser.add_argument("--replace", action="store_true", help="delete the survey's responses first")

    def handle(self, *args, survey, responses, projects, seed, replace, **options):
        started = time.perf_counter()
        try:
            result = scale_seed(survey_code=survey, responses=responses, projects=projects, seed=seed, replace=replace)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"seeded survey {result.survey.code}: {result.responses} responses in {result.projects} projects "
            f"in {time.perf_counter() - started:.1f} s"
        )
