from django.core.management.base import BaseCommand, CommandError

from satisfaction.services import metrics_compute
from surveys.models import Survey


class Command(BaseCommand):
    help = "同步重算一次调查的全部指标快照（与 Celery 任务同一代码）。Recompute a survey's snapshots synchronously."

    def add_arguments(self, parser):
        parser.add_argument("--survey", required=True, help="survey code")

    def handle(self, *args, survey, **options):
        survey_id = Survey.objects.filter(code=survey).values_list("id", flat=True).first()
        if survey_id is None:
            raise CommandError(f"survey {survey!r} does not exist")
        count = metrics_compute(survey_id=survey_id)
        self.stdout.write(f"computed metrics of survey {survey} from {count} responses")
