"""Celery tasks of the surveys app: thin wrappers that take ids and call the services."""

from celery import shared_task

from surveys.importing.jobs import import_job_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id: int) -> str:
    """Run one stored import; a redelivered task (its worker died) reruns it, which writes the same rows."""
    return import_job_run(job_id=job_id).status
