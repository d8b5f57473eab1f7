"""楼盘得分卡: the page and its Excel export show the project's snapshot rows beside the company's, scoped per role."""

import io

import pytest
from openpyxl import load_workbook

from core.templatetags.csm import pct
from owners.models import Project
from satisfaction.models import ItemSnapshot, MetricSnapshot
from tests.dashboard_fixtures import body_rows, surveys_for_module

STAGE_COLUMNS = ["prospective", "run_in", "stable", "veteran"]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def surveys(built, db):
    return built


def snap(survey, port="", project=None, stage=""):
    return MetricSnapshot.objects.filter(
        survey=survey, port=port, stage=stage, **({"project__code": project} if project else {"project__isnull": True})
    ).first()


def value_of(cell):
    raw = cell["attrs"].get("data-value", "")
    return float(raw) if raw else None


def exact(value):
    """Unrounded, as far as the file format allows: openpyxl writes floats with 16 significant digits."""
    return pytest.approx(value, rel=1e-15, abs=0)


def workbook_rows(content: bytes):
    sheet = load_workbook(io.BytesIO(content)).active
    return sheet, [[cell.value for cell in row] for row in sheet.iter_rows()]


def section(rows, title):
    """Rows of one section: after its title and its header row, up to the next blank row."""
    start = next(i for i, row in enumerate(rows) if row[0] == title)
    body = []
    for row in rows[start + 2 :]:
        if all(v is None for v in row):
            break
        body.append(row)
    return rows[start + 1], body


def test_the_score_card_shows_the_projects_rows_beside_the_company(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    html = client.get("/dashboards/projects/SUN/?survey=2026-annual").content
    own, company = snap(survey, project="SUN"), snap(survey)
    headline = {row["attrs"]["data-measure"]: row for row in body_rows(html, "scorecard-headline")}
    assert value_of(headline["satisfaction"]["cells"][1]) == own.satisfaction_rate
    assert value_of(headline["satisfaction"]["cells"][4]) == company.satisfaction_rate
    assert headline["satisfaction"]["texts"][5] == f"{(own.satisfaction_rate - company.satisfaction_rate) * 100:+.1f}"
    assert value_of(headline["loyalty"]["cells"][1]) == own.loyalty_rate
    assert headline["loyalty"]["texts"][3] == str(own.loyalty_base)

    matrix = body_rows(html, "scorecard-table")
    assert [(r["attrs"]["data-port"], r["attrs"]["data-measure"]) for r in matrix] == [
        ("", "satisfaction"), ("", "loyalty"), ("design", "satisfaction"), ("engineering", "satisfaction"),
        ("sales", "satisfaction"), ("service", "satisfaction"), ("property", "satisfaction"),
    ]
    for row in matrix:
        port, loyalty = row["attrs"]["data-port"], row["attrs"]["data-measure"] == "loyalty"
        field = "loyalty_rate" if loyalty else "satisfaction_rate"
        assert value_of(row["cells"][1]) == getattr(snap(survey, port, "SUN"), field)
        for offset, stage in enumerate(STAGE_COLUMNS, start=2):
            cell = snap(survey, port, "SUN", stage)
            assert value_of(row["cells"][offset]) == (getattr(cell, field) if cell else None)
        assert value_of(row["cells"][7]) == getattr(snap(survey, port), field)

    items = body_rows(html, "item-table")
    all_items = sorted(
        (i for i in ItemSnapshot.objects.filter(survey=survey, project__code="SUN", stage="")
         if i.question_code.count("_") and i.n > 0),
        key=lambda i: i.satisfaction_rate,
    )
    assert [row["attrs"]["data-item"] for row in items] == [i.question_code for i in all_items[:5]]


def test_the_export_holds_the_same_numbers_laid_out_for_printing(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    response = client.get("/dashboards/projects/SUN/scorecard.xlsx?survey=2026-annual")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="scorecard-SUN-2026-annual.xlsx"'
    sheet, rows = workbook_rows(response.content)
    assert rows[0][0] == "楼盘得分卡"
    assert rows[1][:4] == ["楼盘", "阳光花园", "楼盘编码", "SUN"]
    assert rows[2][:4] == ["调查", "2026年度满意度调查", "调查编码", "2026-annual"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_area.startswith("'楼盘得分卡'!$A$1:")

    header, body = section(rows, "核心指标与公司对比")
    assert header[:7] == ["指标", "本楼盘", "95%区间下限", "95%区间上限", "样本量", "公司整体", "与公司差值"]
    own, company = snap(survey, project="SUN"), snap(survey)
    assert body[0][0] == "总体满意度" and body[0][4] == own.n
    assert body[0][1:7] == exact([
        own.satisfaction_rate, own.satisfaction_ci_low, own.satisfaction_ci_high, own.n,
        company.satisfaction_rate, own.satisfaction_rate - company.satisfaction_rate,
    ])
    assert body[1][1] == exact(own.loyalty_rate) and body[1][4] == own.loyalty_base

    header, body = section(rows, "各项指标按业主阶段")
    assert header == ["指标", "全部阶段", "准业主", "磨合期业主", "稳定期业主", "老业主", "样本量", "公司整体"]
    assert [row[0] for row in body] == ["总体满意度", "忠诚度", "规划设计", "工程质量", "销售服务", "客户服务", "物业管理"]
    property_row = body[-1]
    assert property_row[1] == exact(snap(survey, "property", "SUN").satisfaction_rate)
    for offset, stage in enumerate(STAGE_COLUMNS, start=2):
        cell = snap(survey, "property", "SUN", stage)
        assert property_row[offset] == (exact(cell.satisfaction_rate) if cell else None)
    assert property_row[7] == exact(snap(survey, "property").satisfaction_rate)
    first_rate = next(row for row in sheet.iter_rows() if row[0].value == "物业管理")[1]
    assert first_rate.number_format == "0.0%"

    header, body = section(rows, "最弱细项")
    assert header[0] == "细项" and header[2] == "满意度"
    rates = [row[2] for row in body]
    assert rates == sorted(rates) and len(body) == 5


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)"])
def test_a_formula_in_a_project_name_comes_out_neutralised(client, manager, surveys, name):
    Project.objects.filter(code="SUN").update(name=name)
    client.force_login(manager)
    content = client.get("/dashboards/projects/SUN/scorecard.xlsx").content
    sheet, rows = workbook_rows(content)
    assert rows[1][1] == "'" + name
    assert sheet["B2"].data_type == "s"
    assert not any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)
    page = client.get("/dashboards/projects/SUN/").content.decode()
    assert "&quot;" in page or name[0] != "="  # escaped in HTML, never raw markup


def test_a_department_head_sees_only_their_ports_in_the_score_card_and_its_export(client, property_head, surveys):
    _, survey = surveys
    client.force_login(property_head)
    html = client.get("/dashboards/projects/SUN/").content
    assert [r["attrs"]["data-port"] for r in body_rows(html, "scorecard-table")] == ["", "", "property"]
    assert {r["attrs"]["data-item"].split("_")[0] for r in body_rows(html, "item-table")} == {"property"}
    assert "工程质量" not in html.decode() and "规划设计" not in html.decode()
    charts = client.get("/dashboards/projects/SUN/data.json").json()["charts"]
    assert charts["scorecard"]["categories"] == ["总体满意度", "忠诚度", "物业管理"]

    _, rows = workbook_rows(client.get("/dashboards/projects/SUN/scorecard.xlsx").content)
    _, body = section(rows, "各项指标按业主阶段")
    assert [row[0] for row in body] == ["总体满意度", "忠诚度", "物业管理"]
    _, body = section(rows, "最弱细项")
    assert {row[1] for row in body} == {"物业管理"}
    assert not any(isinstance(v, str) and v in ("工程质量", "规划设计", "销售服务", "客户服务") for row in rows for v in row)


def test_filters_carry_into_the_export_link_and_the_export_follows_them(client, manager, surveys):
    first, _ = surveys
    client.force_login(manager)
    page = client.get("/dashboards/projects/SUN/?survey=2025-annual&stage=veteran").content.decode()
    assert 'href="/dashboards/projects/SUN/scorecard.xlsx?survey=2025-annual&amp;stage=veteran"' in page
    _, rows = workbook_rows(client.get("/dashboards/projects/SUN/scorecard.xlsx?survey=2025-annual&stage=veteran").content)
    assert rows[2][3] == "2025-annual"
    _, body = section(rows, "最弱细项")
    weakest = (
        ItemSnapshot.objects.filter(survey=first, project__code="SUN", stage="veteran", n__gt=0)
        .exclude(question_code__in=["overall", "repurchase", "recommend", "design", "engineering", "sales", "service",
                                     "property"])
        .order_by("satisfaction_rate", "mean_score")
        .first()
    )
    assert body[0][2] == exact(weakest.satisfaction_rate)


def test_the_project_list_ranks_projects_and_its_filter_jumps_to_a_score_card(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    rows = body_rows(client.get("/dashboards/projects/").content, "project-list-table")
    rates = [value_of(row["cells"][2]) for row in rows]
    assert rates == sorted(rates, reverse=True)
    assert {row["attrs"]["data-project"] for row in rows} == {"SUN", "RIV", "TINY"}
    tiny = next(row for row in rows if row["attrs"]["data-project"] == "TINY")
    assert "样本不足" in tiny["texts"][2] and pct(snap(survey, project="TINY").satisfaction_rate) in tiny["texts"][2]
    response = client.get("/dashboards/projects/?project=RIV&survey=2025-annual&stage=run_in")
    assert response.status_code == 302
    assert response["Location"] == "/dashboards/projects/RIV/?survey=2025-annual&stage=run_in"
