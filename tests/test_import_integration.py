"""The importer on PostgreSQL, where rows and history go in through COPY: same results as the ORM would give."""

import pytest
from django.db import connection

from owners.models import Owner, Project
from surveys.answers import decode_answers
from surveys.importer import owners_import, responses_import
from surveys.models import ImportJob, Response
from surveys.services import survey_create
from tests.import_support import edited, independent_score, sample_bytes, sample_frame, set_cell

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(django_user_model):
    # A plain user: transactional tests flush the groups the data migrations made.
    return django_user_model.objects.create_user("importer", password="x")


@pytest.fixture
def survey():
    return survey_create(code="2026-annual", name="2026 年度满意度调查")


def history_counts():
    return Response.history.count(), Owner.history.count()


def test_the_sample_imports_into_postgresql_with_full_history_rows(survey, staff):
    assert connection.vendor == "postgresql"

    result = responses_import(survey=survey, data=sample_bytes(), file_name="sample.xlsx", user=staff)

    assert result.ok and (result.created, result.updated, result.unchanged) == (240, 0, 0)
    assert (Response.objects.count(), Owner.objects.count(), Project.objects.count()) == (240, 240, 4)
    codes = list(survey.questions.order_by("position").values_list("code", flat=True))
    labels = dict(survey.questions.values_list("code", "label"))
    frame = sample_frame().set_index("问卷编号")
    for response in Response.objects.all():
        expected = {code: independent_score(frame.loc[response.questionnaire_no, labels[code]]) for code in codes}
        assert decode_answers(codes, response.answers) == expected
        history = response.history.get()
        # The history row COPY wrote holds what the row holds, as simple-history would have written it.
        for field in (
            "survey_id",
            "owner_id",
            "project_id",
            "questionnaire_no",
            "surveyed_on",
            "stage",
            "channel",
            "answers",
        ):
            assert getattr(history, field) == getattr(response, field)
        assert (history.history_type, history.history_user_id) == ("+", staff.pk)
        assert history.created_at == response.created_at
    for owner in Owner.objects.all():
        history = owner.history.get()
        assert (history.phone, history.move_in_date, history.project_id) == (
            owner.phone,
            owner.move_in_date,
            owner.project_id,
        )
    # New rows after the import still get fresh ids from the sequences COPY advanced.
    extra = Project.objects.create(code="NEXT", name="下一个")
    assert Owner.objects.create(project=extra, unit="1-1-101", name="新业主").pk > max(
        Owner.objects.exclude(project=extra).values_list("id", flat=True)
    )


def test_reimporting_and_changing_one_row_on_postgresql(survey, staff):
    responses_import(survey=survey, data=sample_bytes(), file_name="sample.xlsx", user=staff)
    before = history_counts()

    again = responses_import(survey=survey, data=sample_bytes(), file_name="sample.xlsx", user=staff)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 240)
    assert history_counts() == before

    changed = responses_import(
        survey=survey, data=edited(set_cell("总体满意度", 2, 1)), file_name="v2.xlsx", user=staff
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 239)
    response = Response.objects.get(questionnaire_no="GL2026-0001")
    assert response.answers[0] == "1"
    assert history_counts() == (before[0] + 1, before[1])
    latest = response.history.order_by("-history_id").first()
    assert (latest.history_type, latest.answers, latest.history_user_id, latest.history_change_reason) == (
        "~",
        response.answers,
        staff.pk,
        "导入：v2.xlsx",
    )
    assert latest.created_at == response.created_at


def test_a_bad_file_writes_nothing_on_postgresql(survey):
    result = responses_import(survey=survey, data=edited(set_cell("推荐意愿", 9, 6)), file_name="bad.xlsx")

    assert [(e.row, e.column, e.value) for e in result.errors] == [(9, "推荐意愿", "6")]
    assert (Response.objects.count(), Owner.objects.count(), Project.objects.count()) == (0, 0, 0)


def test_a_roster_update_on_postgresql_changes_owners_in_place_with_history(survey, staff):
    responses_import(survey=survey, data=sample_bytes(), file_name="sample.xlsx")
    roster = "楼盘编码,房号,业主姓名,联系电话,签约日期\nSZ-JY01,1-3-1902,卢英,13900001111,2023-05-01\n"

    result = owners_import(data=roster.encode("utf-8"), file_name="roster.csv", user=staff)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    owner = Owner.objects.get(project__code="SZ-JY01", unit="1-3-1902", name="卢英")
    assert owner.phone == "13900001111" and str(owner.contract_date) == "2023-05-01"
    latest = owner.history.order_by("-history_id").first()
    assert (latest.history_type, latest.phone, latest.history_user_id) == ("~", "13900001111", staff.pk)
    assert latest.move_in_date == owner.move_in_date and latest.created_at == owner.created_at


def test_an_import_job_shows_progress_and_finishes_on_postgresql(survey, staff):
    from django.core.files.base import ContentFile

    from surveys.tasks import run_import_job

    job = ImportJob(kind="responses", survey=survey, created_by=staff, file_name="sample.xlsx", sha256="x")
    job.file.save("sample.xlsx", ContentFile(sample_bytes()), save=False)
    job.save()

    assert run_import_job(job.pk) == ImportJob.Status.SUCCEEDED
    job.refresh_from_db()
    assert (job.progress, job.created_count, job.total_rows) == (100, 240, 240)


def test_progress_written_inside_the_import_transaction_is_visible_to_a_polling_connection(survey):
    from django.db import connections

    from surveys.importing.jobs import ProgressWriter

    job = ImportJob.objects.create(kind="responses", survey=survey, file_name="sample.xlsx", sha256="x")
    writer = ProgressWriter(job.pk, min_interval=0)
    seen = []

    def progress(percent: int) -> None:
        writer(percent)
        poller = connections.create_connection("default")
        try:
            with poller.cursor() as cursor:
                cursor.execute("SELECT progress FROM surveys_importjob WHERE id = %s", [job.pk])
                seen.append((percent, cursor.fetchone()[0], connection.in_atomic_block))
        finally:
            poller.close()

    responses_import(survey=survey, data=sample_bytes(), file_name="sample.xlsx", progress=progress)
    writer.close()

    inside = [(percent, shown) for percent, shown, atomic in seen if atomic]
    assert inside and all(percent == shown for percent, shown in inside)


def test_text_with_backslashes_tabs_and_quotes_survives_copy():
    roster = '楼盘编码,楼盘名称,房号,业主姓名\nP\\1,"楼盘 ""一""\t期",1-1-101,"O\'Brien \\ 李\t二"\n'

    result = owners_import(data=roster.encode("utf-8"), file_name="roster.csv")

    assert result.ok and result.created == 1
    owner = Owner.objects.select_related("project").get()
    assert (owner.project.code, owner.project.name, owner.name) == ("P\\1", '楼盘 "一"\t期', "O'Brien \\ 李\t二")
    assert owner.history.get().name == "O'Brien \\ 李\t二"
