"""Background imports: store the upload as an ImportJob, run it in a Celery task, record the outcome.

Every kind of import runs this way, whichever app owns it: an app registers its kind with ``import_kind_register``
(surveys its responses and owner roster, feedback its feedback records, each in its ``AppConfig.ready``), and gets
the stored file, the progress bar, the history page, the "same file again" detection and the error workbook.

Progress is written outside the import's own transaction, so a page polling the job sees it move: on
PostgreSQL through a second connection; on SQLite (one writer at a time) through a small file while the import
holds the write lock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.spreadsheets.files import upload_check
from core.spreadsheets.results import ImportResult
from surveys.models import ImportJob, Survey

logger = logging.getLogger(__name__)

# ImportJob.errors keeps at most this many (a 100k-row file of nonsense would make a 300 MB JSON cell).
MAX_STORED_ERRORS = 10_000
# The owners an import created are named on its page up to this many (a first import creates thousands).
MAX_NAMED_OWNERS = 1_000


@dataclass(frozen=True)
class ImportKind:
    """How to run one kind of import: ``run(job=…, data=…, progress=…)`` returns its ImportResult (all or nothing);
    ``upload_url`` names the page its files are uploaded on and ``upload_label`` that page's button (the history
    page offers them all, a job's page links back to its own)."""

    run: Callable[..., ImportResult]
    upload_url: str
    upload_label: str
    needs_survey: bool = False


_KINDS: dict[str, ImportKind] = {}


def import_kind_register(
    kind: str, *, run: Callable[..., ImportResult], upload_url: str, upload_label: str, needs_survey: bool = False
) -> None:
    """Make ``kind`` (an ``ImportJob.Kind``) runnable as a background job. Called from an app's ``ready()``."""
    if kind not in ImportJob.Kind.values:
        raise ValueError(f"unknown import kind {kind!r}: add it to ImportJob.Kind")
    _KINDS[kind] = ImportKind(run=run, upload_url=upload_url, upload_label=upload_label, needs_survey=needs_survey)


def import_kind(kind: str) -> ImportKind | None:
    """The registered kind, or None when no installed app runs it."""
    return _KINDS.get(kind)


def import_kinds() -> list[ImportKind]:
    """Every runnable kind, in the order of ``ImportJob.Kind``."""
    return [_KINDS[kind] for kind in ImportJob.Kind.values if kind in _KINDS]


def _run_responses(*, job: ImportJob, data: bytes, progress) -> ImportResult:
    from surveys.importer import responses_import

    return responses_import(survey=job.survey, data=data, file_name=job.file_name, user=job.created_by, progress=progress)


def _run_owners(*, job: ImportJob, data: bytes, progress) -> ImportResult:
    from surveys.importer import owners_import

    return owners_import(data=data, file_name=job.file_name, user=job.created_by, progress=progress)


def register_survey_imports() -> None:
    """The surveys app's own kinds (``SurveysConfig.ready``)."""
    import_kind_register(
        ImportJob.Kind.RESPONSES,
        run=_run_responses,
        upload_url="surveys:import_responses",
        upload_label=gettext_lazy("导入问卷"),
        needs_survey=True,
    )
    import_kind_register(
        ImportJob.Kind.OWNERS, run=_run_owners, upload_url="surveys:import_owners", upload_label=gettext_lazy("导入业主名册")
    )


def import_job_start(*, kind: str, survey: Survey | None, data: bytes, file_name: str, user) -> ImportJob:
    """Keep the file and queue its import (sent when the current transaction commits).

    Raises ValidationError when the file is refused before parsing (see ``upload_check``) or the kind needs a
    survey it was not given.
    """
    from surveys.tasks import run_import_job

    registered = import_kind(kind)
    if registered is None:
        raise ValidationError(f"不支持的导入类型“{kind}”")
    if registered.needs_survey and survey is None:
        raise ValidationError("导入问卷答卷必须指定调查")
    if kind == ImportJob.Kind.RESPONSES and survey.closed_at is not None:
        from surveys.services import survey_closed_message

        raise ValidationError(survey_closed_message(survey), code="survey_closed")
    refusals = upload_check(file_name=file_name, data=data)
    if refusals:
        raise ValidationError(refusals)
    job = ImportJob(
        kind=kind,
        survey=survey if registered.needs_survey else None,
        created_by=user if getattr(user, "pk", None) else None,
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
    )
    job.file.save(_stored_name(file_name), ContentFile(data), save=False)
    job.save()
    transaction.on_commit(lambda: _enqueue(run_import_job, job.pk))
    return job


def _enqueue(task, job_id: int) -> None:
    try:
        task.delay(job_id)
    except Exception:  # broker down: the job is saved and stays pending; the beat's flush queues it later
        logger.warning("import job %s queued for later: broker unavailable", job_id, exc_info=True)


def _stored_name(file_name: str) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else "bin"
    return f"import-{timezone.now():%Y%m%d-%H%M%S}.{suffix}"


class ProgressWriter:
    """Writes ImportJob.progress where a polling page can see it, at most a few times a second."""

    def __init__(self, job_id: int, *, min_interval: float = 0.3) -> None:
        self.job_id = job_id
        self.min_interval = min_interval
        self.last_percent = -1
        self.last_at = 0.0
        self._side = None

    def __call__(self, percent: int) -> None:
        now = time.monotonic()
        if percent == self.last_percent or (percent < 100 and now - self.last_at < self.min_interval):
            return
        if connection.vendor == "postgresql":
            # A second connection commits at once, whatever the import's transaction is doing.
            if self._side is None:
                self._side = connections.create_connection("default")
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET progress = %s WHERE id = %s", [percent, self.job_id]
                )
        elif connection.in_atomic_block:
            # SQLite: a second connection would wait for our own write lock, so the embedded set-up reports
            # progress through a small file beside the database instead (read by ``import_job_live_progress``).
            progress_file(self.job_id).write_text(str(percent))
        else:
            ImportJob.objects.filter(pk=self.job_id).update(progress=percent)
        self.last_percent, self.last_at = percent, now

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
        progress_file(self.job_id).unlink(missing_ok=True)


def progress_file(job_id: int) -> Path:
    folder = Path(settings.VAR_DIR) / "import-progress"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / str(int(job_id))


def import_job_live_progress(job: ImportJob) -> int:
    """The job's progress: its row, or for a running job on SQLite the newer figure its worker wrote to a file."""
    if job.status != ImportJob.Status.RUNNING:
        return job.progress
    try:
        return max(job.progress, min(100, int(progress_file(job.pk).read_text() or 0)))
    except (OSError, ValueError):
        return job.progress


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a stored import (idempotent: a finished job is left alone; a job whose worker died reruns, which
    is safe because the import writes in one transaction)."""
    job = ImportJob.objects.select_related("survey", "created_by").get(pk=job_id)
    if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED, ImportJob.Status.UNCHANGED):
        return job
    claimed = (
        ImportJob.objects.filter(pk=job.pk)
        .exclude(status__in=[ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED, ImportJob.Status.UNCHANGED])
        .update(status=ImportJob.Status.RUNNING, progress=0)
    )
    if not claimed:
        return job
    writer = ProgressWriter(job.pk)
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        registered = import_kind(job.kind)
        if registered is None:
            result = ImportResult.refusal([f"不支持的导入类型“{job.kind}”"])
        else:
            result = registered.run(job=job, data=data, progress=writer)
    except Exception:
        logger.exception("import job %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED,
            message="导入时发生系统错误，未写入任何数据：请联系管理员",
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    finally:
        writer.close()
    _record_result(job, result)
    job.refresh_from_db()
    return job


def _record_result(job: ImportJob, result: ImportResult) -> None:
    fields = {
        "progress": 100,
        "total_rows": result.total_rows,
        "created_count": result.created,
        "updated_count": result.updated,
        "unchanged_count": result.unchanged,
        "errors": [issue.as_dict() for issue in result.errors[:MAX_STORED_ERRORS]],
        "created_projects": [list(project) for project in result.created_projects],
        "created_owners": [list(owner) for owner in result.created_owners[:MAX_NAMED_OWNERS]],
        "created_owner_count": len(result.created_owners),
        "finished_at": timezone.now(),
    }
    if not result.ok:
        fields["status"] = ImportJob.Status.FAILED
        if result.refused:
            fields["message"] = "；".join(issue.reason for issue in result.errors)
        else:
            shown = "" if len(result.errors) <= MAX_STORED_ERRORS else f"（仅保存前 {MAX_STORED_ERRORS} 个）"
            fields["message"] = f"发现 {len(result.errors)} 个错误{shown}，未写入任何数据"
    else:
        fields["status"] = ImportJob.Status.SUCCEEDED
        fields["message"] = f"新增 {result.created}，更新 {result.updated}，未变化 {result.unchanged}"
        if result.created == 0 and result.updated == 0:
            previous = _same_file_before(job)
            if previous is not None:
                fields["status"] = ImportJob.Status.UNCHANGED
                done_at = timezone.localtime(previous.finished_at or previous.created_at)
                fields["message"] = f"文件与 {done_at:%Y-%m-%d %H:%M} 导入的文件相同，未作任何更改"
    # A job queued twice (a redelivery, the beat's flush) may run twice; the first result recorded stands.
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(**fields)


def _same_file_before(job: ImportJob) -> ImportJob | None:
    return (
        ImportJob.objects.filter(kind=job.kind, survey=job.survey, sha256=job.sha256, status=ImportJob.Status.SUCCEEDED)
        .exclude(pk=job.pk)
        .order_by("-finished_at", "-id")
        .first()
    )
