"""External survey reports: import (all or nothing), entry, and the comparison with our own snapshot rates."""

import io
from datetime import date

import pytest
from django.utils import timezone

from feedback.importing import benchmark_import, parse_rate
from feedback.models import ExternalBenchmark, ExternalBenchmarkRow
from feedback.selectors import benchmarks_for_port
from feedback.services import benchmark_create
from owners.models import Project
from satisfaction.models import MetricSnapshot
from surveys.services import survey_create
from tests.support import answer_once

HEADER = ["楼盘编码", "端口", "业主阶段", "样本量", "满意度", "忠诚度"]


def _csv(rows) -> bytes:
    return "\n".join(",".join(str(cell) for cell in row) for row in rows).encode("utf-8")


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园")


@pytest.fixture
def survey(db):
    survey = survey_create(code="2026-annual", name="2026年度调查")
    answer_once(survey)
    return survey


def _snapshot(survey, *, port="", project=None, stage="", rate, n=100, loyalty=None):
    return MetricSnapshot.objects.create(
        survey=survey, port=port, project=project, stage=stage, n=n, satisfied=round(rate * n),
        satisfaction_rate=rate, loyalty_rate=loyalty, computed_at=timezone.now(),
    )


@pytest.mark.parametrize(("text", "rate"), [("85.3%", 0.853), ("0.853", 0.853), ("85.3", 0.853), ("1", 1.0), ("八成", None), ("-5%", None), ("150%", None)])
def test_rates_are_read_as_percentages_or_fractions(text, rate):
    if rate is None:
        with pytest.raises(ValueError):
            parse_rate(text)
    else:
        assert parse_rate(text) == pytest.approx(rate)


def test_a_good_report_file_imports_every_slice(project):
    rows = [
        HEADER,
        ["", "", "", 1200, "86.5%", "70.1%"],
        ["", "物业管理", "", 1200, 0.78, ""],
        ["P1", "engineering", "磨合期业主", 80, 81.25, ""],
    ]
    benchmark, result = benchmark_import(
        data=_csv(rows), file_name="group.csv", name="集团2026年满意度调查", source="集团", report_on=date(2026, 9, 30)
    )
    assert result.errors == [] and result.created == 3
    slices = {(r.project_id, r.port, r.stage): r for r in benchmark.rows.all()}
    assert slices[(None, "", "")].satisfaction_rate == pytest.approx(0.865)
    assert slices[(None, "", "")].loyalty_rate == pytest.approx(0.701)
    assert slices[(None, "property", "")].satisfaction_rate == pytest.approx(0.78)
    assert slices[(project.pk, "engineering", "run_in")].sample_size == 80


def test_a_bad_report_file_writes_nothing_and_lists_every_error(project):
    rows = [
        HEADER,
        ["", "", "", 0, "86.5%", ""],  # sample size 0
        ["NOPE", "物业管理", "", 100, "78%", ""],  # unknown project
        ["", "保安", "", 100, "78%", ""],  # unknown port
        ["", "property", "", 100, "120%", ""],  # rate above 100 %
        ["", "property", "", 100, "78%", "60%"],  # loyalty on a port row
        ["", "物业管理", "", 100, "79%", ""],  # same slice as row 6
    ]
    benchmark, result = benchmark_import(
        data=_csv(rows), file_name="bad.csv", name="坏报告", source="第三方", report_on=date(2026, 9, 30)
    )
    assert benchmark is None
    found = {(issue.row, issue.column) for issue in result.errors}
    assert {(2, "样本量"), (3, "楼盘编码"), (4, "端口"), (5, "满意度"), (6, "忠诚度"), (7, "端口")} <= found
    assert all(issue.reason for issue in result.errors)
    assert ExternalBenchmark.objects.count() == 0 and ExternalBenchmarkRow.objects.count() == 0


def test_a_report_file_missing_a_required_column_is_refused(db):
    _, result = benchmark_import(
        data=_csv([["端口", "满意度"], ["", "80%"]]), file_name="x.csv", name="x", source="y", report_on=date(2026, 1, 1)
    )
    assert [(i.row, i.column, i.reason) for i in result.errors] == [(1, "样本量", "缺少必填列“样本量”（sample_size）")]


def test_benchmarks_for_a_port_sit_beside_our_rate_for_the_same_slice(survey, project):
    _snapshot(survey, port="property", rate=0.80, n=500)
    _snapshot(survey, port="property", project=project, rate=0.70, n=40)
    _snapshot(survey, port="property", stage="run_in", rate=0.99, n=30)  # another slice: must not be used
    benchmark_create(
        name="第三方2026", source="某调查公司", report_on=date(2026, 8, 1),
        rows=[
            {"port": "property", "sample_size": 900, "satisfaction_rate": 0.76},
            {"port": "property", "project": project, "sample_size": 50, "satisfaction_rate": 0.75},
            {"port": "property", "stage": "veteran", "sample_size": 50, "satisfaction_rate": 0.60},
            {"port": "engineering", "sample_size": 900, "satisfaction_rate": 0.50},
        ],
    )
    comparisons = {(c.row.project_id, c.row.stage): c for c in benchmarks_for_port(port="property", survey=survey)}
    assert len(comparisons) == 3
    whole = comparisons[(None, "")]
    assert (whole.our_rate, whole.our_n) == (0.80, 500)
    assert whole.difference == pytest.approx(0.80 - 0.76)
    assert comparisons[(project.pk, "")].difference == pytest.approx(0.70 - 0.75)
    assert comparisons[(None, "veteran")].our_rate is None and comparisons[(None, "veteran")].difference is None


def test_the_headline_comparison_includes_loyalty(survey):
    _snapshot(survey, rate=0.81, loyalty=0.62)
    benchmark_create(name="集团", source="集团", report_on=date(2026, 8, 1),
                     rows=[{"sample_size": 900, "satisfaction_rate": 0.85, "loyalty_rate": 0.65}])
    [comparison] = benchmarks_for_port(port=None, survey=survey)
    assert comparison.difference == pytest.approx(0.81 - 0.85)
    assert comparison.loyalty_difference == pytest.approx(0.62 - 0.65)


def test_the_report_pages_show_the_difference_and_hide_other_ports_from_a_head(client, staff, property_head, survey):
    _snapshot(survey, rate=0.807)
    _snapshot(survey, port="engineering", rate=0.70)
    benchmark = benchmark_create(
        name="集团2026", source="集团", report_on=date(2026, 8, 1),
        rows=[{"sample_size": 900, "satisfaction_rate": 0.85}, {"port": "engineering", "sample_size": 900, "satisfaction_rate": 0.733}],
    )
    client.force_login(staff)
    html = client.get("/feedback/benchmarks/").content.decode()
    assert "集团2026" in html and "85.0%" in html and "80.7%" in html and "-4.3%" in html
    detail = client.get(f"/feedback/benchmarks/{benchmark.pk}/").content.decode()
    assert "73.3%" in detail and "-3.3%" in detail
    client.force_login(property_head)
    detail = client.get(f"/feedback/benchmarks/{benchmark.pk}/").content.decode()
    assert "85.0%" in detail and "73.3%" not in detail


def test_staff_enter_a_report_and_its_rows_through_the_pages(client, staff, project):
    client.force_login(staff)
    response = client.post("/feedback/benchmarks/new/", {"name": "第三方", "source": "某公司", "report_on": "2026-08-01"})
    benchmark = ExternalBenchmark.objects.get()
    assert response.status_code == 302
    bad = client.post(f"/feedback/benchmarks/{benchmark.pk}/", {"port": "property", "sample_size": "0", "satisfaction_rate": "abc"})
    html = bad.content.decode()
    assert "比例无法识别" in html and ExternalBenchmarkRow.objects.count() == 0
    good = client.post(f"/feedback/benchmarks/{benchmark.pk}/", {"port": "property", "project": project.pk, "sample_size": "60", "satisfaction_rate": "77.5%"})
    assert good.status_code == 302
    row = ExternalBenchmarkRow.objects.get()
    assert (row.port, row.project, row.satisfaction_rate) == ("property", project, pytest.approx(0.775))


def test_the_import_page_lists_errors_and_writes_nothing(client, staff):
    client.force_login(staff)
    upload = io.BytesIO(_csv([HEADER, ["", "", "", "abc", "80%", ""]]))
    upload.name = "r.csv"
    html = client.post(
        "/feedback/benchmarks/import/", {"name": "r", "source": "s", "report_on": "2026-08-01", "file": upload}
    ).content.decode()
    assert "样本量必须是正整数" in html and "没有写入任何数据" in html
    assert ExternalBenchmark.objects.count() == 0


def test_a_head_cannot_enter_a_report(client, property_head):
    client.force_login(property_head)
    assert client.get("/feedback/benchmarks/new/").status_code == 403
    assert client.get("/feedback/benchmarks/import/").status_code == 403


def test_an_account_without_a_role_sees_no_report(client, django_user_model, survey):
    benchmark = benchmark_create(name="集团", source="集团", report_on=date(2026, 8, 1), rows=[{"sample_size": 9, "satisfaction_rate": 0.8}])
    client.force_login(django_user_model.objects.create_user("nobody", password="x-Pass-2026!"))
    assert client.get("/feedback/benchmarks/").status_code == 403
    assert client.get(f"/feedback/benchmarks/{benchmark.pk}/").status_code == 403
