"""Feedback records: entry and its messages, scope, the all-or-nothing import, and the evidence figures."""

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from openpyxl import Workbook
from scipy import stats

from feedback.importing import feedback_import
from feedback.models import Feedback
from feedback.selectors import (
    FeedbackFact,
    ProjectBase,
    feedback_port_evidence,
    feedback_port_panel,
    pearson,
    port_evidence,
)
from feedback.services import feedback_create
from owners.models import Owner, Project
from satisfaction.models import MetricSnapshot
from surveys.services import survey_create
from tests.support import answer_once


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园", unit_count=200)


@pytest.fixture
def owner(project):
    return Owner.objects.create(project=project, unit="3-2-1502", name="李雷", phone="13812345678", move_in_date=date(2025, 6, 1))


def _post(client, **overrides):
    data = {
        "kind": "complaint",
        "project": "",
        "unit": "",
        "owner_name": "",
        "port": "engineering",
        "received_on": "2026-03-05",
        "severity": "normal",
        "status": "open",
        "closed_on": "",
        "description": "卫生间渗水",
    }
    data.update(overrides)
    return client.post("/feedback/new/", data)


# --- entry -----------------------------------------------------------------------------------------------------


def test_staff_records_a_complaint_about_a_known_owner(client, staff, project, owner):
    client.force_login(staff)
    response = _post(client, project=project.pk, unit="3-2-1502", owner_name="李雷")
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.port, feedback.owner, feedback.unit) == ("complaint", "engineering", owner, "3-2-1502")
    assert feedback.created_by == staff
    assert feedback.history.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "closed"}, "已关闭的反馈必须填写关闭日期"),
        ({"status": "closed", "closed_on": "2026-03-01"}, "关闭日期不能早于受理日期"),
        ({"closed_on": "2026-03-09"}, "未关闭的反馈不能填写关闭日期"),
        ({"description": "  "}, "请填写反馈内容"),
        ({"owner_name": "韩梅梅", "unit": "3-2-1502"}, "该楼盘、房号下没有这位业主"),
        ({"owner_name": "李雷"}, "填写业主姓名时必须填写房号"),
        ({"port": ""}, "请选择责任端口"),
        ({"received_on": "2026-02-30"}, "受理日期不是有效日期"),
    ],
)
def test_a_bad_entry_is_refused_with_a_clear_message_and_keeps_the_input(client, staff, project, owner, overrides, message):
    client.force_login(staff)
    response = _post(client, project=project.pk, **overrides)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'is-invalid' in html
    if "description" not in overrides:
        assert "卫生间渗水" in html
    assert Feedback.objects.count() == 0


def test_a_receipt_date_in_the_future_is_refused(client, staff, project):
    client.force_login(staff)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = _post(client, project=project.pk, received_on=tomorrow.isoformat())
    assert "受理日期不能晚于今天" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_the_database_refuses_a_closed_record_without_a_closing_date(project):
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5),
            status="closed", description="x",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5),
            status="closed", closed_on=date(2026, 3, 4), description="x",
        )


def test_closing_a_record_keeps_its_previous_version_in_the_history(client, staff, project):
    client.force_login(staff)
    feedback = feedback_create(kind="repair", project=project, port="property", received_on=date(2026, 3, 5), description="电梯故障")
    response = client.post(
        f"/feedback/{feedback.pk}/edit/",
        {"kind": "repair", "project": project.pk, "port": "property", "received_on": "2026-03-05", "severity": "normal",
         "status": "closed", "closed_on": "2026-03-08", "description": "电梯故障"},
    )
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.status, feedback.closed_on) == ("closed", date(2026, 3, 8))
    assert [h.status for h in feedback.history.order_by("history_date")] == ["open", "closed"]


# --- scope -----------------------------------------------------------------------------------------------------


def test_a_property_head_sees_property_feedback_but_not_engineering_feedback(client, property_head, project):
    leak = feedback_create(kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5), description="外墙裂缝")
    own = feedback_create(kind="complaint", project=project, port="property", received_on=date(2026, 3, 5), description="保洁不到位")
    client.force_login(property_head)
    listing = client.get("/feedback/").content.decode()
    assert "保洁不到位" in listing
    assert "外墙裂缝" not in listing
    assert client.get(f"/feedback/{own.pk}/").status_code == 200
    assert client.get(f"/feedback/{leak.pk}/").status_code == 404
    assert "外墙裂缝" not in client.get("/feedback/?port=engineering").content.decode()
    assert client.get("/feedback/ports/engineering/").status_code == 403
    assert client.get("/feedback/ports/property/").status_code == 200


def test_a_head_may_not_enter_or_import_feedback(client, property_head):
    client.force_login(property_head)
    assert client.get("/feedback/new/").status_code == 403
    assert client.get("/feedback/import/").status_code == 403


def test_the_list_filters_by_kind_port_status_and_date(client, staff, project):
    for kind, port, received_on in [
        ("complaint", "engineering", date(2026, 1, 10)),
        ("repair", "engineering", date(2026, 2, 10)),
        ("complaint", "property", date(2026, 3, 10)),
    ]:
        feedback_create(kind=kind, project=project, port=port, received_on=received_on, description=f"{kind}-{port}-{received_on}")
    client.force_login(staff)
    html = client.get("/feedback/?kind=complaint&port=engineering").content.decode()
    assert "complaint-engineering-2026-01-10" in html and "repair-engineering" not in html and "complaint-property" not in html
    html = client.get("/feedback/?received_from=2026-02-01&received_to=2026-02-28").content.decode()
    assert "repair-engineering-2026-02-10" in html and "2026-01-10" not in html and "2026-03-10" not in html


# --- import ----------------------------------------------------------------------------------------------------

GOOD_ROWS = [
    ["反馈编号", "反馈类型", "楼盘编码", "房号", "业主姓名", "责任端口", "受理日期", "严重程度", "处理状态", "关闭日期", "反馈内容"],
    ["F-001", "投诉", "P1", "3-2-1502", "李雷", "工程质量", "2026-03-05", "较重", "已关闭", "2026/3/9", "卫生间渗水"],
    ["F-002", "报修", "P1", "", "", "property", "2026年3月6日", "", "", "", "电梯故障"],
    ["F-003", "模拟验收问题", "P1", "5-1-101", "", "工程质量", "2026-03-07", "一般", "处理中", "", "窗框打胶不均"],
]


def _csv(rows, encoding="utf-8-sig") -> bytes:
    return "\n".join(",".join(row) for row in rows).encode(encoding)


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_a_good_csv_imports_every_row(owner, encoding):
    result = feedback_import(data=_csv(GOOD_ROWS, encoding), file_name="feedback.csv")
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    first = Feedback.objects.get(reference="F-001")
    assert (first.kind, first.port, first.owner, first.severity, first.status, first.closed_on) == (
        "complaint", "engineering", owner, "major", "closed", date(2026, 3, 9)
    )
    assert Feedback.objects.get(reference="F-002").received_on == date(2026, 3, 6)


def test_a_good_xlsx_imports_and_the_same_file_again_changes_nothing(owner):
    data = _xlsx(GOOD_ROWS)
    assert feedback_import(data=data, file_name="feedback.xlsx").created == 3
    again = feedback_import(data=data, file_name="feedback.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Feedback.objects.count() == 3
    assert Feedback.history.count() == 3


def test_a_changed_row_updates_its_record_with_history(owner):
    feedback_import(data=_xlsx(GOOD_ROWS), file_name="feedback.xlsx")
    changed = [row[:] for row in GOOD_ROWS]
    changed[3][8], changed[3][9] = "已关闭", "2026-03-20"
    result = feedback_import(data=_xlsx(changed), file_name="feedback.xlsx")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    record = Feedback.objects.get(reference="F-003")
    assert record.closed_on == date(2026, 3, 20)
    assert record.history.count() == 2


def test_a_bad_file_writes_nothing_and_lists_every_error_with_row_and_column(owner):
    rows = [row[:] for row in GOOD_ROWS]
    rows[1][1] = "表扬"  # unknown kind
    rows[2][2] = "NOPE"  # unknown project
    rows[3][6] = "2026-13-01"  # bad date
    rows.append(["F-001", "投诉", "P1", "", "", "工程质量", "2026-03-05", "", "已关闭", "", "重复编号且未填关闭日期"])
    rows.append(["F-005", "投诉", "P1", "", "", "工程质量", "2026-03-05", "", "", "2026-03-01", "关闭早于受理"])
    result = feedback_import(data=_xlsx(rows), file_name="bad.xlsx")
    found = {(issue.row, issue.column, issue.value) for issue in result.errors}
    assert (2, "反馈类型", "表扬") in found
    assert (3, "楼盘编码", "NOPE") in found
    assert (4, "受理日期", "2026-13-01") in found
    assert (5, "反馈编号", "F-001") in found
    assert (5, "关闭日期", "") in found
    assert (6, "关闭日期", "2026-03-01") in found
    assert all(issue.reason for issue in result.errors)
    assert Feedback.objects.count() == 0


def test_an_unknown_or_missing_column_is_an_error_on_row_one(owner):
    rows = [["反馈编号", "反馈类型", "楼盘编码", "受理日期", "反馈内容", "备注"], ["F-1", "投诉", "P1", "2026-03-05", "x", "y"]]
    result = feedback_import(data=_csv(rows), file_name="f.csv")
    # The same column parser, and so the same words, as the survey-response import.
    assert {(i.row, i.column, i.reason) for i in result.errors} == {
        (1, "备注", "未知的列：请使用模板中的列标题（中文标题或英文键）"),
        (1, "责任端口", "缺少必填列“责任端口”（port）"),
    }
    assert Feedback.objects.count() == 0


def test_a_formula_cell_is_an_error(owner):
    rows = [row[:] for row in GOOD_ROWS[:2]]
    rows[1][6] = "=TODAY()"
    result = feedback_import(data=_xlsx(rows), file_name="f.xlsx")
    assert [(i.row, i.column) for i in result.errors] == [(2, "受理日期")]
    assert Feedback.objects.count() == 0


def test_the_import_page_shows_the_errors_and_writes_nothing(client, staff, owner, django_capture_on_commit_callbacks):
    client.force_login(staff)
    rows = [row[:] for row in GOOD_ROWS]
    rows[2][5] = "保安"
    upload = io.BytesIO(_csv(rows))
    upload.name = "feedback.csv"
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/feedback/import/", {"file": upload})
    html = client.get(answer["Location"]).content.decode()  # the import job's page
    assert "未写入任何数据" in html and "保安" in html and "未知端口" in html
    assert Feedback.objects.count() == 0


# --- evidence --------------------------------------------------------------------------------------------------


def _facts_frame(facts):
    return pd.DataFrame(
        [{"kind": f.kind, "project": f.project_code, "received_on": f.received_on, "closed_on": f.closed_on} for f in facts]
    )


def test_the_evidence_figures_match_an_independent_computation():
    projects = [
        ProjectBase("A", "甲", 200, 150),
        ProjectBase("B", "乙", 80, 40),
        ProjectBase("C", "丙", None, 50),  # no unit count: falls back to owners on record
        ProjectBase("D", "丁", 400, 10),
    ]
    day = date(2026, 1, 1)
    facts = (
        [FeedbackFact("complaint", "A", day, day + timedelta(days=d)) for d in (2, 5, 9)]
        + [FeedbackFact("complaint", "B", day, None) for _ in range(4)]
        + [FeedbackFact("complaint", "C", day, day + timedelta(days=30))]
        + [FeedbackFact("repair", "A", day, day + timedelta(days=1)) for _ in range(6)]
        + [FeedbackFact("repair", "D", day, None), FeedbackFact("suggestion", "D", day, None)]
    )
    satisfaction = {"A": (0.82, 120), "B": (0.61, 60), "C": (0.75, 45), "D": (0.90, 200)}
    evidence = port_evidence(port="engineering", facts=facts, projects=projects, satisfaction=satisfaction)

    frame = _facts_frame(facts)
    counts = frame["kind"].value_counts()
    assert evidence.volume_by_kind["complaint"] == counts["complaint"]
    assert evidence.volume_by_kind["repair"] == counts["repair"]
    assert evidence.volume_by_kind["suggestion"] == counts["suggestion"]
    assert evidence.volume_by_kind["opinion"] == 0
    assert evidence.total == len(frame)

    bases = pd.Series({"A": 200, "B": 80, "C": 50, "D": 400})
    complaints = frame[frame["kind"] == "complaint"].groupby("project").size().reindex(bases.index, fill_value=0)
    repairs = frame[frame["kind"] == "repair"].groupby("project").size().reindex(bases.index, fill_value=0)
    per_project = {p.code: p for p in evidence.projects}
    for code in bases.index:
        assert per_project[code].complaints_per_100 == pytest.approx(complaints[code] / bases[code] * 100)
        assert per_project[code].repairs_per_100 == pytest.approx(repairs[code] / bases[code] * 100)
    assert per_project["C"].base_is_units is False
    assert evidence.basis == "mixed"
    assert evidence.complaints_per_100 == pytest.approx(complaints.sum() / bases.sum() * 100)

    closed = frame.dropna(subset=["closed_on"])
    durations = pd.Series([(c - r).days for r, c in zip(closed["received_on"], closed["closed_on"])])
    assert evidence.closed == len(durations)
    assert evidence.close_days_median == pytest.approx(durations.median())
    assert evidence.close_days_mean == pytest.approx(durations.mean())

    rates = complaints / bases * 100
    expected = stats.pearsonr(rates[list("ABCD")], [satisfaction[c][0] for c in "ABCD"])
    assert evidence.correlation == pytest.approx(expected.statistic)
    assert evidence.correlation_projects == 4


def test_the_correlation_needs_three_projects_and_some_variation():
    assert pearson([1.0, 2.0], [0.5, 0.6]) is None
    assert pearson([1.0, 1.0, 1.0], [0.5, 0.6, 0.7]) is None
    assert pearson([1.0, 2.0, 4.0], [0.9, 0.7, 0.2]) == pytest.approx(stats.pearsonr([1, 2, 4], [0.9, 0.7, 0.2]).statistic)


def test_a_project_without_unit_count_is_counted_per_hundred_owners_on_record(db):
    project = Project.objects.create(code="P9", name="无户数楼盘")
    for unit in ("1-101", "1-102", "1-103", "1-104"):
        Owner.objects.create(project=project, unit=unit, name=f"业主{unit}")
    feedback_create(kind="complaint", project=project, port="service", received_on=date(2026, 3, 5), description="x")
    evidence = feedback_port_evidence(port="service", survey=None)
    assert evidence.basis == "owners"
    assert evidence.complaints_per_100 == pytest.approx(25.0)


def test_the_port_panel_reads_snapshots_and_is_empty_for_a_port_the_user_may_not_see(staff, property_head):
    survey = survey_create(code="2026-annual", name="2026年度调查")
    now = timezone.now()
    rates = {}
    for index, (code, units, complaints, rate) in enumerate(
        [("A", 100, 1, 0.90), ("B", 100, 3, 0.70), ("C", 50, 2, 0.60), ("E", 100, 0, 0.95)]
    ):
        project = Project.objects.create(code=code, name=f"楼盘{code}", unit_count=units)
        for n in range(complaints):
            feedback_create(kind="complaint", project=project, port="property", received_on=date(2026, 3, 1 + n), description="x")
        MetricSnapshot.objects.create(
            survey=survey, port="property", project=project, stage="", n=40 + index, satisfied=0,
            satisfaction_rate=rate, computed_at=now,
        )
        rates[code] = (complaints / units * 100, rate)
    # A whole-survey row and a stage row must not be taken for project rows.
    MetricSnapshot.objects.create(survey=survey, port="property", project=None, stage="", n=200, satisfied=0, satisfaction_rate=0.8, computed_at=now)
    panel = feedback_port_panel(port="property", survey=survey, user=property_head)
    evidence = panel["feedback_evidence"]
    assert evidence.complaints == 6
    assert evidence.complaints_per_100 == pytest.approx(6 / 350 * 100)
    xs, ys = zip(*rates.values())
    assert evidence.correlation == pytest.approx(stats.pearsonr(xs, ys).statistic)
    assert feedback_port_panel(port="engineering", survey=survey, user=property_head)["feedback_evidence"] is None
    assert feedback_port_panel(port="engineering", survey=survey, user=staff)["feedback_evidence"] is not None


def test_the_port_page_shows_the_figures(client, staff, project):
    feedback_create(kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5), description="x")
    feedback_create(kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5),
                    status="closed", closed_on=date(2026, 3, 9), description="y")
    client.force_login(staff)
    html = client.get("/feedback/ports/engineering/").content.decode()
    assert 'id="port-complaints">2<' in html
    assert 'id="port-complaints-per-100">1.00<' in html  # 2 complaints / 200 units × 100
    assert "每百户（楼盘总户数）" in html


def test_the_port_dashboard_includes_the_feedback_panel_for_the_ports_a_head_may_see(client, property_head, project):
    answer_once(survey_create(code="2026-annual", name="2026年度调查"))
    feedback_create(kind="complaint", project=project, port="property", received_on=date(2026, 3, 5), description="x")
    client.force_login(property_head)
    html = client.get("/dashboards/ports/property/").content.decode()
    assert 'id="feedback-panel"' in html
    assert 'data-kind="complaint">1<' in html


def test_a_feedback_record_links_to_a_new_research_topic_in_the_plans(client, staff, project):
    feedback = feedback_create(kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5), description="外墙渗水")
    client.force_login(staff)
    html = client.get(f"/feedback/{feedback.pk}/").content.decode()
    assert 'href="/plans/action-items/new/?port=engineering&amp;title=' in html
    assert "kind=research" in html


def test_the_api_lists_feedback_in_the_users_scope_and_staff_create_through_it(client, staff, property_head, project):
    feedback_create(kind="complaint", project=project, port="engineering", received_on=date(2026, 3, 5), description="外墙裂缝")
    feedback_create(kind="repair", project=project, port="property", received_on=date(2026, 3, 6), description="电梯故障")
    client.force_login(property_head)
    rows = client.get("/api/v1/feedback/").json()["results"]
    assert [row["description"] for row in rows] == ["电梯故障"]
    assert client.post("/api/v1/feedback/", {}, content_type="application/json").status_code == 403
    client.force_login(staff)
    bad = client.post("/api/v1/feedback/", {"kind": "complaint", "project": "P1", "port": "service", "received_on": "2026-03-07",
                                            "status": "closed", "description": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "已关闭的反馈必须填写关闭日期" in bad.content.decode()
    good = client.post("/api/v1/feedback/", {"kind": "complaint", "project": "P1", "port": "service", "received_on": "2026-03-07",
                                             "description": "客服响应慢"}, content_type="application/json")
    assert good.status_code == 201 and good.json()["port"] == "service"
    assert client.get("/api/v1/feedback/?kind=complaint").json()["count"] == 2


def test_every_problem_of_an_entry_is_shown_at_once(client, staff):
    client.force_login(staff)
    html = _post(client, port="", status="closed", closed_on="2026-03-01").content.decode()
    assert "请选择楼盘" in html and "请选择责任端口" in html and "关闭日期不能早于受理日期" in html


def test_a_file_that_is_not_a_spreadsheet_is_refused_before_reading(owner):
    result = feedback_import(data=b"not a workbook", file_name="feedback.xlsx")
    assert len(result.errors) == 1 and result.errors[0].row == 0 and result.errors[0].reason
    assert feedback_import(data=b"x", file_name="feedback.txt").errors[0].reason.startswith("不支持的文件类型")
    assert Feedback.objects.count() == 0
