"""Importing a survey firm's questionnaires: the sample imports, re-imports change nothing, every error is found."""

import io
from datetime import date

import numpy as np
import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.spreadsheets import cells
from core.spreadsheets.cells import ColumnSpec, ParsedColumn
from owners.models import Owner, Project
from owners.stages import stage_as_of, stages_as_of
from surveys.answers import decode_answers, encode_answer_matrix, encode_answers
from surveys.importer import responses_import
from surveys.importing.responses import score_matrix
from surveys.models import ImportJob, Response
from surveys.services import survey_create
from tests.import_support import (
    SAMPLE,
    column_of,
    edited,
    independent_date,
    independent_score,
    sample_bytes,
    sample_frame,
    set_cell,
    small_edited,
    small_sample_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查")


def counts():
    return (
        Response.objects.count(),
        Owner.objects.count(),
        Project.objects.count(),
        Response.history.count(),
        Owner.history.count(),
    )


def run(survey, data, name="survey.xlsx", user=None):
    return responses_import(survey=survey, data=data, file_name=name, user=user)


# --- the sample ------------------------------------------------------------------------------------------------


def test_the_sample_file_imports_240_responses_matching_an_independent_reading(survey, staff):
    result = run(survey, sample_bytes(), user=staff)

    assert result.ok, result.errors[:5]
    assert (result.created, result.updated, result.unchanged, result.total_rows) == (240, 0, 0, 240)
    frame = sample_frame()
    assert Project.objects.count() == frame["楼盘编码"].nunique() == 4
    assert Owner.objects.count() == len(frame[["楼盘编码", "房号", "业主姓名"]].drop_duplicates()) == 240
    questions = list(survey.questions.order_by("position"))
    codes = [q.code for q in questions]
    responses = {r.questionnaire_no: r for r in Response.objects.select_related("owner", "project")}
    channel_codes = {"电话": "phone", "网络": "online", "上门": "visit", "纸质": "paper"}
    for record in frame.to_dict("records"):
        response = responses[record["问卷编号"]]
        scores = decode_answers(codes, response.answers)
        assert scores == {q.code: independent_score(record[q.label]) for q in questions}
        surveyed_on = independent_date(record["调查日期"])
        move_in = independent_date(record["入住日期"])
        assert response.surveyed_on == surveyed_on
        assert response.stage == stage_as_of(move_in, surveyed_on)
        assert response.channel == channel_codes[record["调查方式"]]
        assert response.project.code == record["楼盘编码"]
        assert (response.owner.unit, response.owner.name, response.owner.phone) == (
            record["房号"],
            record["业主姓名"],
            record["联系电话"],
        )
        assert response.owner.move_in_date == move_in
    assert Response.history.filter(history_type="+", history_user=staff).count() == 240
    assert Owner.history.filter(history_type="+", history_user=staff).count() == 240


def test_reimporting_the_unchanged_sample_writes_no_row_and_no_history(survey):
    run(survey, sample_bytes())
    before = counts()

    result = run(survey, sample_bytes())

    assert result.ok
    assert (result.created, result.updated, result.unchanged) == (0, 0, 240)
    assert counts() == before


def test_a_changed_score_updates_that_response_with_one_history_row(survey, staff):
    run(survey, sample_bytes())
    before = counts()
    # Row 2 is GL2026-0001, whose 总体满意度 is 5 in the sample.
    result = run(survey, edited(set_cell("总体满意度", 2, 2)), user=staff)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 239)
    response = Response.objects.get(questionnaire_no="GL2026-0001")
    assert response.answers[0] == "2"
    assert counts()[:3] == before[:3]
    assert Response.history.count() == before[3] + 1
    latest = response.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_user, latest.answers) == ("~", staff, response.answers)


def test_a_new_phone_updates_the_owner_in_place_and_a_blank_keeps_the_stored_one(survey):
    run(survey, sample_bytes())
    owner = Owner.objects.get(project__code="SZ-JY01", unit="1-3-1902", name="卢英")

    def edit(sheet):
        sheet.cell(row=2, column=column_of(sheet, "联系电话"), value="13900001111")
        sheet.cell(row=3, column=column_of(sheet, "联系电话")).value = None

    result = run(survey, edited(edit))

    assert result.ok and result.updated == 0
    owner.refresh_from_db()
    assert owner.phone == "13900001111"
    assert Owner.objects.get(project__code="SZ-JY02", unit="10-1-1501").phone == "13104623488"
    assert owner.history.filter(history_type="~").count() == 1


def test_key_headers_import_like_chinese_labels(survey):
    questions = {q.label: q.code for q in survey.questions.all()}
    keys = {
        "问卷编号": "questionnaire_no",
        "楼盘编码": "project_code",
        "楼盘名称": "project_name",
        "房号": "unit",
        "业主姓名": "owner_name",
        "联系电话": "phone",
        "入住日期": "move_in_date",
        "调查日期": "surveyed_on",
        "调查方式": "channel",
        **questions,
    }

    def edit(sheet):
        for cell in sheet[1]:
            cell.value = keys[cell.value]

    result = run(survey, edited(edit))

    assert result.ok and result.created == 240
    assert Response.objects.get(questionnaire_no="GL2026-0002").answers[-2] == "-"  # N/A in 绿化养护


def test_a_missing_optional_question_column_means_not_asked(survey):
    result = run(survey, small_edited(lambda sheet: sheet.delete_cols(column_of(sheet, "户型设计"))))

    assert result.ok
    position = [q.code for q in survey.questions.order_by("position")].index("design_layout")
    assert set(Response.objects.values_list("answers", flat=True).iterator()) and all(
        answers[position] == "-" for answers in Response.objects.values_list("answers", flat=True)
    )


def test_a_new_project_code_creates_the_project_with_its_name(survey):
    result = run(survey, small_edited(set_cell("楼盘编码", 2, "GZ-NEW1")))

    assert result.ok
    assert Project.objects.get(code="GZ-NEW1").name == "金域华府一期"


# --- the vectorised helpers agree with the one-at-a-time functions --------------------------------------------


def test_stages_over_arrays_equal_stage_as_of_including_29_february_and_both_bounds():
    pairs = [
        (None, date(2026, 4, 1)),
        (date(2026, 5, 1), date(2026, 4, 1)),
        (date(2025, 4, 1), date(2026, 4, 1)),
        (date(2025, 4, 1), date(2026, 4, 2)),
        (date(2024, 4, 1), date(2026, 3, 31)),
        (date(2024, 4, 1), date(2026, 4, 1)),
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2024, 2, 29), date(2025, 3, 1)),
        (date(2024, 2, 29), date(2026, 2, 28)),
        (date(2024, 2, 29), date(2026, 2, 27)),
    ]
    move_in = np.array([m for m, _ in pairs], dtype=object)
    surveyed = np.array([s for _, s in pairs], dtype=object)

    assert list(stages_as_of(move_in, surveyed)) == [stage_as_of(m, s) for m, s in pairs]


def test_answer_strings_over_arrays_equal_encode_answers():
    codes = ["overall", "repurchase", "recommend", "design"]
    rows = [
        {"overall": 5, "repurchase": None, "recommend": 1, "design": 3},
        {"overall": None, "repurchase": 2, "recommend": 4, "design": None},
    ]
    spec = ColumnSpec("score", "评分", cells.parse_score)
    columns = {
        code: ParsedColumn(spec, code, j, np.array([row[code] for row in rows], dtype=object), np.zeros(2, bool))
        for j, code in enumerate(codes[:3])
    }
    # A factorised column (distinct values parsed once) gives the same characters.
    columns["overall"].codes, columns["overall"].uniques = np.array([1, 0]), np.array([None, 5], dtype=object)

    assert encode_answer_matrix(score_matrix(codes, columns, 2)).tolist() == [
        encode_answers(codes, {**row, "design": None}) for row in rows
    ]


# --- every error kind: right row, column, value, reason; nothing written -----------------------------------------


def only_error(survey, data, name="survey.xlsx"):
    before = counts()
    result = run(survey, data, name)
    assert not result.ok
    assert counts() == before, "a file with an error must write nothing"
    return result.errors


@pytest.mark.parametrize(
    ("value", "shown"),
    [(6, "6"), (0, "0"), (4.5, "4.5"), ("4.5", "4.5"), ("5分", "5分"), ("=2+3", "=2+3"), ("好", "好"), (-1, "-1")],
)
def test_a_bad_score_is_reported_with_its_row_column_and_value(survey, value, shown):
    errors = only_error(survey, small_edited(set_cell("推荐意愿", 7, value)))

    assert len(errors) == 1
    error = errors[0]
    assert (error.row, error.column, error.value) == (7, "推荐意愿", shown)
    if shown.startswith("="):
        assert "公式" in error.reason
    else:
        assert "1–5 的整数" in error.reason


def test_an_unknown_column_is_an_error(survey):
    errors = only_error(survey, small_edited(lambda sheet: sheet.cell(row=1, column=34, value="备注")))

    assert [(e.row, e.column, e.value) for e in errors] == [(1, "备注", "备注")]
    assert "未知的列" in errors[0].reason


def test_a_missing_required_column_is_an_error(survey):
    errors = only_error(survey, small_edited(lambda sheet: sheet.delete_cols(column_of(sheet, "推荐意愿"))))

    assert [(e.row, e.column) for e in errors] == [(1, "推荐意愿")]
    assert "缺少必填列" in errors[0].reason


@pytest.mark.parametrize("header", ["问卷编号", "楼盘编码", "房号", "业主姓名", "调查日期"])
def test_a_blank_required_cell_is_an_error(survey, header):
    errors = only_error(survey, small_edited(set_cell(header, 9, None)))

    assert [(e.row, e.column, e.value, e.reason) for e in errors] == [(9, header, "", "必填项为空")]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-13-01", "日期不存在"),
        ("2026/2/30", "日期不存在"),
        ("2026.3.5", "日期无法识别"),
        ("下周", "日期无法识别"),
        (45000, "日期无法识别"),
    ],
)
def test_a_bad_date_is_an_error(survey, value, reason):
    errors = only_error(survey, small_edited(set_cell("调查日期", 4, value)))

    assert [(e.row, e.column, e.value) for e in errors] == [(4, "调查日期", str(value))]
    assert reason in errors[0].reason


def test_a_bad_channel_is_an_error(survey):
    errors = only_error(survey, small_edited(set_cell("调查方式", 5, "微信")))

    assert [(e.row, e.column, e.value) for e in errors] == [(5, "调查方式", "微信")]
    assert "调查方式" in errors[0].reason


def test_a_questionnaire_number_twice_in_the_file_is_an_error(survey):
    errors = only_error(survey, small_edited(set_cell("问卷编号", 10, "GL2026-0001")))

    assert [(e.row, e.column, e.value) for e in errors] == [(10, "问卷编号", "GL2026-0001")]
    assert "第 2 行" in errors[0].reason


def test_an_owner_twice_in_the_file_is_an_error(survey):
    def edit(sheet):
        for header in ("楼盘编码", "楼盘名称", "房号", "业主姓名"):
            column = column_of(sheet, header)
            sheet.cell(row=20, column=column, value=sheet.cell(row=2, column=column).value)

    errors = only_error(survey, small_edited(edit))

    assert [(e.row, e.column, e.value) for e in errors] == [(20, "业主姓名", "卢英")]
    assert "出现两次" in errors[0].reason and "第 2 行" in errors[0].reason


def test_an_owner_already_surveyed_under_another_number_is_an_error(survey):
    run(survey, small_sample_bytes())

    def edit(sheet):
        sheet.delete_rows(3, 100)  # keep row 2 only: GL2026-0001, 卢英
        sheet.cell(row=2, column=column_of(sheet, "问卷编号"), value="LATE-0001")

    errors = only_error(survey, small_edited(edit))

    assert [(e.row, e.column, e.value) for e in errors] == [(2, "业主姓名", "卢英")]
    assert "GL2026-0001" in errors[0].reason


def test_a_new_project_without_a_name_is_an_error(survey):
    def edit(sheet):
        sheet.cell(row=2, column=column_of(sheet, "楼盘编码"), value="GZ-NEW1")
        sheet.cell(row=2, column=column_of(sheet, "楼盘名称")).value = None

    errors = only_error(survey, small_edited(edit))

    assert [(e.row, e.column) for e in errors] == [(2, "楼盘名称")]
    assert "GZ-NEW1" in errors[0].reason


def test_every_error_in_a_file_is_returned_in_sheet_order(survey):
    def edit(sheet):
        sheet.cell(row=25, column=column_of(sheet, "总体满意度"), value=6)
        sheet.cell(row=3, column=column_of(sheet, "调查方式"), value="传真")
        sheet.cell(row=3, column=column_of(sheet, "入住日期"), value="去年")
        sheet.cell(row=31, column=column_of(sheet, "房号")).value = None
        sheet.cell(row=1, column=34, value="备注")

    errors = only_error(survey, small_edited(edit))

    assert [(e.row, e.column) for e in errors] == [
        (1, "备注"),
        (3, "入住日期"),
        (3, "调查方式"),
        (25, "总体满意度"),
        (31, "房号"),
    ]


def test_an_empty_row_inside_the_data_is_skipped_and_row_numbers_stay_the_sheets(survey):
    def edit(sheet):
        sheet.insert_rows(5)
        sheet.cell(row=8, column=column_of(sheet, "总体满意度"), value=7)

    errors = only_error(survey, small_edited(edit))

    assert [(e.row, e.value) for e in errors] == [(8, "7")]


# --- the command -------------------------------------------------------------------------------------------------


def test_the_command_prints_a_summary_and_exits_0(survey, capsys):
    call_command("import_responses", str(SAMPLE), "--survey", survey.code)

    assert capsys.readouterr().out.strip() == "created 240, updated 0, unchanged 0"


def test_the_command_lists_every_error_and_exits_1_writing_nothing(survey, tmp_path, capsys):
    def edit(sheet):
        sheet.cell(row=5, column=column_of(sheet, "总体满意度"), value=6)
        sheet.cell(row=6, column=column_of(sheet, "调查方式"), value="传真")

    path = tmp_path / "bad.xlsx"
    path.write_bytes(small_edited(edit))

    with pytest.raises(CommandError) as raised:
        call_command("import_responses", str(path), "--survey", survey.code)

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('row 5, column 总体满意度, value "6": 评分必须是 1–5 的整数')
    assert lines[1].startswith('row 6, column 调查方式, value "传真": ')
    assert "nothing was written" in str(raised.value)
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/file.xlsx", "--survey", "2026-annual"], "file not found"),
        ([str(SAMPLE), "--survey", "nope"], "unknown survey"),
    ],
)
def test_the_command_reports_a_missing_file_or_survey_in_one_line(survey, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_responses", *args)


def test_the_command_exits_1_with_one_line_for_an_unreadable_file(survey, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a workbook")

    with pytest.raises(CommandError, match="xlsx") as raised:
        call_command("import_responses", str(path), "--survey", survey.code)

    assert "\n" not in str(raised.value)


def test_the_command_process_exits_with_status_1_and_no_traceback(survey, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(small_edited(set_cell("总体满意度", 5, 6)))
    # The command's exit status is Django's: CommandError → "CommandError: …" on stderr, status 1.
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "import_responses", str(path), "--survey", survey.code]).execute()
    assert exited.value.code == 1


# --- background jobs ---------------------------------------------------------------------------------------------


def test_an_import_job_runs_on_commit_and_records_counts(survey, staff, django_capture_on_commit_callbacks):
    from surveys.services import import_job_start

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(kind="responses", survey=survey, data=sample_bytes(), file_name="样本.xlsx", user=staff)
    job.refresh_from_db()

    assert (job.status, job.progress, job.total_rows, job.created_count, job.errors) == ("succeeded", 100, 240, 240, [])
    assert job.file.read() == sample_bytes()


def test_the_same_file_again_is_recorded_as_unchanged_and_changes_nothing(
    survey, staff, django_capture_on_commit_callbacks
):
    from surveys.services import import_job_start

    with django_capture_on_commit_callbacks(execute=True):
        first = import_job_start(kind="responses", survey=survey, data=sample_bytes(), file_name="a.xlsx", user=staff)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        second = import_job_start(kind="responses", survey=survey, data=sample_bytes(), file_name="a.xlsx", user=staff)
    second.refresh_from_db()
    first.refresh_from_db()

    assert second.status == ImportJob.Status.UNCHANGED
    assert second.unchanged_count == 240
    assert second.message.startswith("文件与 ") and second.message.endswith(" 导入的文件相同，未作任何更改")
    assert counts() == before


def test_a_job_with_errors_stores_them_and_writes_nothing(survey, staff, django_capture_on_commit_callbacks):
    from surveys.services import import_job_start

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(
            kind="responses",
            survey=survey,
            data=small_edited(set_cell("总体满意度", 5, 6)),
            file_name="bad.xlsx",
            user=staff,
        )
    job.refresh_from_db()

    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [{"row": 5, "column": "总体满意度", "value": "6", "reason": job.errors[0]["reason"]}]
    assert Response.objects.count() == 0


def test_a_refused_upload_never_becomes_a_job(survey, staff):
    from django.core.exceptions import ValidationError

    from surveys.services import import_job_start

    with pytest.raises(ValidationError, match="不支持的文件类型"):
        import_job_start(kind="responses", survey=survey, data=b"%PDF-1.4", file_name="a.pdf", user=staff)
    assert ImportJob.objects.count() == 0


def test_a_finished_job_redelivered_is_not_run_twice(survey, staff, django_capture_on_commit_callbacks):
    from surveys.services import import_job_start
    from surveys.tasks import run_import_job

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(kind="responses", survey=survey, data=sample_bytes(), file_name="a.xlsx", user=staff)
    history = Response.history.count()

    assert run_import_job(job.pk) == "succeeded"
    assert Response.history.count() == history


def test_the_sample_workbook_is_untouched_by_the_variants():
    # The helpers edit a copy: the shared sample must stay valid for everyone.
    workbook = openpyxl.load_workbook(io.BytesIO(sample_bytes()))
    assert workbook.active.cell(row=2, column=10).value == 5


def test_headers_match_with_half_width_brackets_other_case_and_spaces(survey):
    def edit(sheet):
        sheet.cell(row=1, column=column_of(sheet, "房屋质量（渗漏/裂缝）")).value = "房屋质量(渗漏/裂缝)"
        sheet.cell(row=1, column=column_of(sheet, "问卷编号")).value = " Questionnaire_No "

    result = run(survey, small_edited(edit))

    assert result.ok and result.created == 30


def test_a_job_run_twice_at_once_keeps_the_first_result(survey, staff, django_capture_on_commit_callbacks):
    from core.spreadsheets.results import ImportResult
    from surveys.importing.jobs import _record_result
    from surveys.services import import_job_start

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(kind="responses", survey=survey, data=sample_bytes(), file_name="a.xlsx", user=staff)
    job.refresh_from_db()
    # A second worker finishing the same job later (it found every row unchanged) must not overwrite the counts.
    _record_result(job, ImportResult(unchanged=240, total_rows=240))
    job.refresh_from_db()

    assert (job.status, job.created_count, job.unchanged_count) == ("succeeded", 240, 0)
