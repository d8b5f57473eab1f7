"""Celery tasks of the surveys app: thin wrappers that take ids and call the services."""

from celery import shared_task

from surveys.importing.jobs import import_job_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id: int) -> str:
    """Run one stored import; a redelivered task (its worker died) reruns it, which writes the same rows."""
    return import_job_run(job_id=job_id).status


@shared_task
def flush_pending_imports() -> int:
    """Queue stored imports the broker never got (uploaded while it was down); a finished job is left alone."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from surveys.models import ImportJob

    stale = timezone.now() - timedelta(seconds=settings.METRICS_FLUSH_SECONDS)
    ids = list(
        ImportJob.objects.filter(status=ImportJob.Status.PENDING, created_at__lt=stale).order_by("id").values_list("id", flat=True)
    )
    for job_id in ids:
        run_import_job.delay(job_id)
    return len(ids)
